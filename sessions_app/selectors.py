import datetime
import functools
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from campaigns.models import Campaign, Message
from sessions_app.models import Pool, PoolMember, SessionStatus, WhatsAppSession


def stale_before() -> datetime.datetime:
    """Heartbeats older than this belong to a host that is gone."""
    return timezone.now() - datetime.timedelta(seconds=settings.HOST_STALE_SECONDS)


def session_is_held(*, session: WhatsAppSession) -> bool:
    """A live session host holds the account: its heartbeat is fresh."""
    return bool(session.host) and (
        session.heartbeat_at is not None and session.heartbeat_at >= stale_before()
    )


@functools.cache
def time_zone_names() -> tuple[str, ...]:
    """The IANA zone names this system knows, sorted (reading them walks the tz database)."""
    return tuple(sorted(zoneinfo.available_timezones()))


@dataclass(frozen=True)
class DayCounts:
    sent: int = 0
    failed: int = 0


def today_bounds(
    now: datetime.datetime | None = None,
) -> tuple[datetime.datetime, datetime.datetime]:
    """The day of `now` (default: today) in the site's time zone, as an aware [start, end)."""
    start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + datetime.timedelta(days=1)


def session_counts_today(*, session_ids: Iterable[int]) -> dict[int, DayCounts]:
    """Messages each account sent and failed today, in one query for all of them."""
    ids = list(session_ids)
    start, end = today_bounds()
    sent_today = Q(sent_at__gte=start, sent_at__lt=end)
    failed_today = Q(failed_at__gte=start, failed_at__lt=end)
    rows = (
        Message.objects.filter(session_id__in=ids)
        .filter(sent_today | failed_today)
        .order_by()
        .values("session_id")
        .annotate(sent=Count("id", filter=sent_today), failed=Count("id", filter=failed_today))
    )
    counts = {row["session_id"]: DayCounts(sent=row["sent"], failed=row["failed"]) for row in rows}
    return {pk: counts.get(pk, DayCounts()) for pk in ids}


# What the operator can do next, derived from the status and whether a host should run.
PHASE_STARTING = "starting"
PHASE_WAITING_QR = "waiting_qr"
PHASE_CONNECTED = "connected"
PHASE_STOPPING = "stopping"
PHASE_OFFLINE = "offline"
PHASE_RESTRICTED = "restricted"
PHASE_CONFLICT = "conflict"


def session_phase(*, session: WhatsAppSession) -> str:
    if session.should_run:
        if session.status == SessionStatus.CONNECTED:
            return PHASE_CONNECTED
        if session.status == SessionStatus.RESTRICTED:
            return PHASE_RESTRICTED
        if session.in_conflict:
            return PHASE_CONFLICT
        if session.status == SessionStatus.WAITING_QR and session.qr_payload:
            return PHASE_WAITING_QR
        return PHASE_STARTING
    if session_is_held(session=session):
        # Asked to stop; the host has not closed the browser yet.
        return PHASE_STOPPING
    return PHASE_OFFLINE


def session_live_context(
    *, session: WhatsAppSession, today: DayCounts | None = None
) -> dict[str, Any]:
    """Everything `#session_row` and `#session_live` render, without a request.

    The list passes `today` (counted for all rows at once); a push counts it here.
    """
    if today is None:
        today = session_counts_today(session_ids=[session.pk])[session.pk]
    phase = session_phase(session=session)
    qr_version = int(session.qr_updated_at.timestamp() * 1000) if session.qr_updated_at else 0
    return {
        "session": session,
        "today": today,
        "phase": phase,
        "qr_version": qr_version,
        "is_sandbox": settings.WHATSAPP_DRIVER == "sandbox",
        # Waiting for the host or for a scan: poll while the socket is down.
        "polls": phase in {PHASE_STARTING, PHASE_WAITING_QR, PHASE_STOPPING},
        # A profile may still hold a WhatsApp link that only a logout removes.
        "may_log_out": phase != PHASE_STOPPING
        and bool(session.profile_dir)
        and session.status != SessionStatus.LOGGED_OUT,
    }


def session_list_contexts() -> list[dict[str, Any]]:
    """One `session_live_context` per account, with today's counters in one query."""
    sessions = list(WhatsAppSession.objects.all())
    counts = session_counts_today(session_ids=[session.pk for session in sessions])
    return [session_live_context(session=session, today=counts[session.pk]) for session in sessions]


def session_recent_messages(*, session: WhatsAppSession, limit: int = 20) -> QuerySet[Message]:
    return (
        Message.objects.filter(session=session)
        .select_related("campaign", "debtor")
        .order_by("-claimed_at", "-id")[:limit]
    )


def session_memberships(*, session: WhatsAppSession) -> QuerySet[PoolMember]:
    return session.memberships.select_related("pool").order_by("pool__name")


def pool_list() -> QuerySet[Pool]:
    return Pool.objects.annotate(
        member_count=Count("members", distinct=True),
        enabled_count=Count("members", filter=Q(members__enabled=True), distinct=True),
        campaign_count=Count("campaigns", distinct=True),
    )


def pool_members(*, pool: Pool) -> QuerySet[PoolMember]:
    return pool.members.select_related("session").order_by("position", "id")


def pool_available_sessions(*, pool: Pool) -> QuerySet[WhatsAppSession]:
    """Accounts that are not members of the pool yet."""
    return WhatsAppSession.objects.exclude(memberships__pool=pool)


def pool_campaigns(*, pool: Pool) -> QuerySet[Campaign]:
    return pool.campaigns.order_by("-created_at", "-id")


def _count_by(queryset: QuerySet, field: str) -> dict[str, int]:  # type: ignore[type-arg]
    return dict(queryset.order_by().values_list(field).annotate(n=Count("id")))


# States an operator must act on (scan a QR, look at an error, replace an account).
ATTENTION_STATES = frozenset(
    {
        SessionStatus.WAITING_QR,
        SessionStatus.ERROR,
        SessionStatus.BANNED,
        SessionStatus.RESTRICTED,
        SessionStatus.LOGGED_OUT,
    }
)
# Connected first: it is the state the operator hopes to see everywhere.
ACCOUNT_STATE_ORDER = [SessionStatus.CONNECTED] + [
    status for status in SessionStatus if status != SessionStatus.CONNECTED
]


@dataclass(frozen=True)
class AccountStateCount:
    status: SessionStatus
    count: int

    @property
    def needs_attention(self) -> bool:
        return self.count > 0 and self.status in ATTENTION_STATES


def dashboard_accounts_context() -> dict[str, Any]:
    """Context of `whatsmassive/dashboard.html#accounts`; pushed without a request."""
    counts = _count_by(WhatsAppSession.objects.all(), "status")
    states = [
        AccountStateCount(status, counts.get(status.value, 0)) for status in ACCOUNT_STATE_ORDER
    ]
    return {
        "account_states": states,
        "accounts_total": sum(state.count for state in states),
        "accounts_needing_attention": sum(state.count for state in states if state.needs_attention),
    }
