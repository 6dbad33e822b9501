import datetime
import functools
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Message, MessageStatus
from debtors.models import OnWhatsApp
from inbox.models import IncomingMessage
from sessions_app.models import (
    AccountChat,
    AccountIncident,
    IncidentKind,
    Pool,
    PoolMember,
    SessionStatus,
    WhatsAppSession,
)


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


# --- account safety: the new-chat budget, the warm-up, the health score -------------------


def warm_up_steps() -> list[tuple[int, int]]:
    """WHATSAPP_WARM_UP as (last day, new chats a day) steps, in order of days."""
    steps = []
    for step in settings.WHATSAPP_WARM_UP.split(","):
        if step.strip():
            last_day, chats = step.split(":")
            steps.append((int(last_day), int(chats)))
    return sorted(steps)


def local_day_start(*, session: WhatsAppSession, now: datetime.datetime) -> datetime.datetime:
    """The start of `now`'s day in the account's time zone."""
    local = now.astimezone(zoneinfo.ZoneInfo(session.time_zone))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


def session_warm_up_day(*, session: WhatsAppSession, now: datetime.datetime) -> int:
    """Which day since it was linked the account is on (day 1: the day of the link, in its
    time zone); an account not linked yet is on day 1."""
    if session.linked_at is None:
        return 1
    zone = zoneinfo.ZoneInfo(session.time_zone)
    return (now.astimezone(zone).date() - session.linked_at.astimezone(zone).date()).days + 1


def session_new_chat_budget(*, session: WhatsAppSession, now: datetime.datetime) -> int:
    """How many chats the account may open today: its budget, or less while it warms up."""
    day = session_warm_up_day(session=session, now=now)
    for last_day, chats in warm_up_steps():
        if day <= last_day:
            return min(chats, session.new_chats_per_day)
    return session.new_chats_per_day


def session_new_chats_opened(*, session: WhatsAppSession, now: datetime.datetime) -> int:
    """Chats the account opened itself today (its local day)."""
    return AccountChat.objects.filter(
        session=session, outgoing=True, opened_at__gte=local_day_start(session=session, now=now)
    ).count()


@dataclass(frozen=True)
class NewChats:
    day: int
    warming_up: bool
    budget: int
    used: int

    @property
    def remaining(self) -> int:
        return max(0, self.budget - self.used)


def session_new_chats(*, session: WhatsAppSession, now: datetime.datetime) -> NewChats:
    day = session_warm_up_day(session=session, now=now)
    steps = warm_up_steps()
    return NewChats(
        day=day,
        warming_up=bool(steps) and day <= steps[-1][0],
        budget=session_new_chat_budget(session=session, now=now),
        used=session_new_chats_opened(session=session, now=now),
    )


HEALTH_DAYS = 7
# Rates are taken over at least this many messages: two failures of a first three sends
# say little about the number.
HEALTH_MIN_SAMPLE = 20
HEALTH_PART_LABELS = {
    "failed": _("failed sends"),
    "not_on_whatsapp": _("numbers not on WhatsApp"),
    "unknown": _("sends with an unknown outcome"),
    "restrictions": _("restrictions by WhatsApp"),
    "disconnects": _("disconnects"),
    "opt_outs": _("debtors who opted out"),
    "replies": _("replies (they earn points back)"),
}


@dataclass(frozen=True)
class HealthPart:
    name: str
    count: int
    points: int  # taken off the score; negative for what earns points back

    @property
    def label(self) -> str:
        return str(HEALTH_PART_LABELS[self.name])

    @property
    def signed_points(self) -> str:
        """As the score moves: "-4" taken off, "+10" earned back."""
        if self.points > 0:
            return f"-{self.points}"
        return f"+{-self.points}" if self.points else "0"


@dataclass(frozen=True)
class Health:
    score: int
    parts: list[HealthPart]

    def parts_json(self) -> dict[str, dict[str, int]]:
        return {part.name: {"count": part.count, "points": part.points} for part in self.parts}


def _counted(queryset: QuerySet[Any], *, by: str, distinct: str = "") -> Coalesce:
    """A correlated count of `queryset`'s rows for the outer account."""
    counted = Count(distinct, distinct=True) if distinct else Count("pk")
    rows = queryset.filter(**{by: OuterRef("pk")}).order_by().values(by).annotate(n=counted)
    return Coalesce(Subquery(rows.values("n"), output_field=IntegerField()), 0)


def _health_score(counts: Mapping[str, Any]) -> Health:
    attempts = max(
        HEALTH_MIN_SAMPLE,
        counts["sent"] + counts["failed"] + counts["not_on_whatsapp"] + counts["unknown"],
    )
    sent = max(HEALTH_MIN_SAMPLE, counts["sent"])

    def share(name: str, of: int, weight: int, cap: int) -> HealthPart:
        return HealthPart(name, counts[name], min(cap, round(weight * counts[name] / of)))

    parts = [
        share("failed", attempts, 100, 30),
        share("not_on_whatsapp", attempts, 100, 20),
        share("unknown", attempts, 200, 20),
        HealthPart("restrictions", counts["restrictions"], min(50, 25 * counts["restrictions"])),
        HealthPart("disconnects", counts["disconnects"], min(20, 5 * counts["disconnects"])),
        share("opt_outs", sent, 200, 20),
        HealthPart("replies", counts["replies"], -min(10, round(100 * counts["replies"] / sent))),
    ]
    return Health(max(0, min(100, 100 - sum(part.points for part in parts))), parts)


def sessions_health(
    *, session_ids: Iterable[int], now: datetime.datetime | None = None
) -> dict[int, Health]:
    """Each account's health score over the last HEALTH_DAYS days, in one query for all.

    Points come off 100 for the share of its sends that failed, went to numbers not on
    WhatsApp or ended unknown, for each restriction and disconnect, and for the share of
    the debtors it wrote to who opted out; the share of them who replied earns some back.
    """
    since = (now or timezone.now()) - datetime.timedelta(days=HEALTH_DAYS)
    messages = Message.objects.all()
    failed = messages.filter(status=MessageStatus.FAILED, failed_at__gte=since)
    not_on_whatsapp = failed.filter(debtor__on_whatsapp=OnWhatsApp.NO)
    incidents = AccountIncident.objects.filter(at__gte=since)
    sent = messages.filter(
        status__in=[MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ],
        sent_at__gte=since,
    )
    rows = (
        WhatsAppSession.objects.filter(pk__in=list(session_ids))
        .annotate(
            sent=_counted(sent, by="session"),
            failed=_counted(failed.exclude(debtor__on_whatsapp=OnWhatsApp.NO), by="session"),
            not_on_whatsapp=_counted(not_on_whatsapp, by="session"),
            unknown=_counted(
                messages.filter(status=MessageStatus.UNKNOWN, updated_at__gte=since), by="session"
            ),
            restrictions=_counted(incidents.filter(kind=IncidentKind.RESTRICTED), by="session"),
            disconnects=_counted(incidents.filter(kind=IncidentKind.DISCONNECTED), by="session"),
            opt_outs=_counted(
                messages.filter(sent_at__gte=since, debtor__opted_out_at__gte=since),
                by="session",
                distinct="debtor",
            ),
            replies=_counted(
                IncomingMessage.objects.filter(received_at__gte=since),
                by="session",
                distinct="conversation",
            ),
        )
        .values(
            "pk",
            "sent",
            "failed",
            "not_on_whatsapp",
            "unknown",
            "restrictions",
            "disconnects",
            "opt_outs",
            "replies",
        )
    )
    return {row["pk"]: _health_score(row) for row in rows}


def session_health_parts(*, session: WhatsAppSession) -> list[HealthPart]:
    """The stored parts of the account's last health score, for its page."""
    return [
        HealthPart(name, stored["count"], stored["points"])
        for name, stored in session.health_parts.items()
        if name in HEALTH_PART_LABELS
    ]
