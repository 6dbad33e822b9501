"""The sending engine: claim, send and settle messages, one account at a time.

PostgreSQL decides what was sent. Every transition of a message is a conditional UPDATE
that must change exactly one row, and `sending` is committed before the driver is touched:
if the process dies after that commit, the message becomes `unknown` and is never sent
again automatically. A message may be lost that way, never sent twice.

    pending -> claimed(lease) -> sending -> sent -> delivered -> read
                  |                  |  \\-> failed (permanent)
                  |                  \\-> unknown (crash after the click)
                  \\-> pending (lease expired, attempts+1)
    pending/claimed -> skipped (opted out, campaign cancelled)
"""

import datetime
import logging
import random
from collections import deque
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone

from campaigns import realtime
from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from debtors.models import Debtor, DebtorStatus
from sessions_app.drivers.base import (
    Ack,
    AckStatus,
    IncomingMessage,
    NotOnWhatsApp,
    SendError,
    WhatsAppDriver,
)
from sessions_app.models import PoolMember, PoolStrategy, SessionStatus, WhatsAppSession

logger = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
# Accounts in these states cannot take over another account's messages.
UNUSABLE_STATUSES = [
    SessionStatus.DISCONNECTED,
    SessionStatus.LOGGED_OUT,
    SessionStatus.BANNED,
    SessionStatus.ERROR,
]
STOP_WORDS = frozenset({"STOP", "BAJA", "PARAR", "NO MAS", "NO MÁS", "UNSUBSCRIBE"})


def _running_campaigns_for(session: WhatsAppSession) -> list[int]:
    """Running campaigns whose pool has this account as an enabled member."""
    return list(
        Campaign.objects.filter(
            status=CampaignStatus.RUNNING,
            pool__members__session=session,
            pool__members__enabled=True,
        ).values_list("id", flat=True)
    )


# --- pacing -----------------------------------------------------------------------------


@dataclass
class Pacer:
    """One account's sending budget: delay, hourly and daily caps, active hours.

    The earliest next send is kept in the database (`next_send_at`); the caps count this
    account's sends, loaded from Message rows when the host starts and kept up to date by
    the host (the only sender for its account).
    """

    session: WhatsAppSession
    recent: deque[datetime.datetime] = field(default_factory=deque)

    @classmethod
    def load(cls, session: WhatsAppSession) -> "Pacer":
        since = timezone.now() - datetime.timedelta(days=1)
        sent_at = (
            Message.objects.filter(session=session, sent_at__gte=since)
            .order_by("sent_at")
            .values_list("sent_at", flat=True)
        )
        return cls(session=session, recent=deque(at for at in sent_at if at is not None))

    def record(self, when: datetime.datetime) -> None:
        self.recent.append(when)

    def next_delay(self) -> float:
        low, high = self.session.min_delay_seconds, self.session.max_delay_seconds
        return random.uniform(low, high)

    def wait_seconds(self, now: datetime.datetime) -> float:
        """0 when the account may send now, else how long until it may."""
        session = self.session
        while self.recent and self.recent[0] < now - datetime.timedelta(days=1):
            self.recent.popleft()
        zone = ZoneInfo(session.time_zone)
        local = now.astimezone(zone)
        waits = [0.0]
        if session.next_send_at and session.next_send_at > now:
            waits.append((session.next_send_at - now).total_seconds())
        window = _seconds_until_active(local, session.active_from, session.active_until)
        waits.append(window)
        hour_ago = now - datetime.timedelta(hours=1)
        in_last_hour = [at for at in self.recent if at >= hour_ago]
        if len(in_last_hour) >= session.hourly_cap:
            oldest = in_last_hour[len(in_last_hour) - session.hourly_cap]
            waits.append((oldest + datetime.timedelta(hours=1) - now).total_seconds())
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if sum(1 for at in self.recent if at >= midnight) >= session.daily_cap:
            waits.append((midnight + datetime.timedelta(days=1) - local).total_seconds())
        return max(waits)


def _seconds_until_active(
    local: datetime.datetime, start: datetime.time, end: datetime.time
) -> float:
    if start == end:  # the same time twice means all day
        return 0.0
    now_t = local.time()
    # A window may cross midnight, e.g. 20:00-02:00.
    inside = (start <= now_t < end) if start <= end else (now_t >= start or now_t < end)
    if inside:
        return 0.0
    opens = local.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    if opens <= local:
        opens += datetime.timedelta(days=1)
    return (opens - local).total_seconds()


# --- claiming and sending ---------------------------------------------------------------


def message_claim_next(*, session: WhatsAppSession) -> Message | None:
    """Lease the next message this account should send, or None if there is none."""
    campaign_ids = _running_campaigns_for(session)
    if not campaign_ids:
        return None
    now = timezone.now()
    with transaction.atomic():
        # Pre-assigned messages (fixed or random turns) first, then the pool's open ones
        # (competitive). SKIP LOCKED lets many hosts claim side by side without waiting.
        for owner in (Q(assigned_session=session), Q(assigned_session__isnull=True)):
            candidate = (
                Message.objects.select_for_update(skip_locked=True, of=("self",))
                .filter(owner, campaign_id__in=campaign_ids, status=MessageStatus.PENDING)
                .order_by("id")
                .values_list("id", flat=True)
                .first()
            )
            if candidate is None:
                continue
            claimed = Message.objects.filter(pk=candidate, status=MessageStatus.PENDING).update(
                status=MessageStatus.CLAIMED,
                session=session,
                claimed_at=now,
                lease_until=now + datetime.timedelta(seconds=settings.ENGINE_CLAIM_LEASE_SECONDS),
                updated_at=now,
            )
            if claimed == 1:
                return Message.objects.select_related("debtor").get(pk=candidate)
    return None


def _skip(message: Message, reason: str) -> None:
    with transaction.atomic():
        changed = Message.objects.filter(pk=message.pk, status=MessageStatus.CLAIMED).update(
            status=MessageStatus.SKIPPED,
            last_error=reason,
            lease_until=None,
            updated_at=timezone.now(),
        )
        if changed:
            realtime.campaign_progress_changed(message.campaign_id)


def _begin_sending(message: Message, session: WhatsAppSession) -> bool:
    """claimed -> sending, committed before the driver is touched."""
    now = timezone.now()
    running = Campaign.objects.filter(pk=OuterRef("campaign_id"), status=CampaignStatus.RUNNING)
    with transaction.atomic():
        changed = (
            Message.objects.filter(pk=message.pk, status=MessageStatus.CLAIMED, session=session)
            .filter(Exists(running))
            .update(
                status=MessageStatus.SENDING,
                attempts=F("attempts") + 1,
                lease_until=now + datetime.timedelta(seconds=settings.ENGINE_SEND_TIMEOUT_SECONDS),
                updated_at=now,
            )
        )
        if changed != 1:
            # Paused or cancelled since the claim: give the message back untouched.
            Message.objects.filter(
                pk=message.pk, status=MessageStatus.CLAIMED, session=session
            ).update(status=MessageStatus.PENDING, lease_until=None, session=None, updated_at=now)
    return changed == 1


def _after_send(session: WhatsAppSession, pacer: Pacer, now: datetime.datetime) -> float:
    delay = pacer.next_delay()
    session.next_send_at = now + datetime.timedelta(seconds=delay)
    pacer.record(now)
    return delay


def message_deliver(
    *, message: Message, session: WhatsAppSession, driver: WhatsAppDriver, pacer: Pacer
) -> float:
    """Send one claimed message through `driver`; returns seconds until the next send."""
    if message.debtor.opted_out:
        _skip(message, "The debtor opted out")
        return 0.0
    if not _begin_sending(message, session):
        return 0.0
    try:
        result = driver.send_text(phone_e164=message.debtor.phone_e164, text=message.body)
    except SendError as exc:
        return _settle_failure(message=message, session=session, pacer=pacer, error=exc)
    now = timezone.now()
    delay = _after_send(session, pacer, now)
    with transaction.atomic():
        Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
            status=MessageStatus.SENT,
            wa_message_id=result.wa_message_id,
            sent_at=now,
            lease_until=None,
            last_error="",
            updated_at=now,
        )
        WhatsAppSession.objects.filter(pk=session.pk).update(
            next_send_at=session.next_send_at, sent_count=F("sent_count") + 1
        )
        Debtor.objects.filter(pk=message.debtor_id).update(status=DebtorStatus.SENT, updated_at=now)
        realtime.campaign_progress_changed(message.campaign_id)
    return delay


def _settle_failure(
    *, message: Message, session: WhatsAppSession, pacer: Pacer, error: SendError
) -> float:
    now = timezone.now()
    delay = _after_send(session, pacer, now) if error.permanent else pacer.next_delay()
    # The claim loaded the count; moving to `sending` added this attempt.
    final = error.permanent or message.attempts + 1 >= settings.ENGINE_MAX_ATTEMPTS
    with transaction.atomic():
        if final:
            Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
                status=MessageStatus.FAILED,
                last_error=error.reason[:500],
                failed_at=now,
                lease_until=None,
                updated_at=now,
            )
            WhatsAppSession.objects.filter(pk=session.pk).update(failed_count=F("failed_count") + 1)
            if isinstance(error, NotOnWhatsApp):
                Debtor.objects.filter(pk=message.debtor_id).update(
                    status=DebtorStatus.UNREACHABLE, updated_at=now
                )
            _auto_pause_if_failing(message.campaign_id)
        else:
            # The driver says nothing left the compose box: safe to try again later.
            Message.objects.filter(pk=message.pk, status=MessageStatus.SENDING).update(
                status=MessageStatus.PENDING,
                session=None,
                lease_until=None,
                last_error=error.reason[:500],
                updated_at=now,
            )
        WhatsAppSession.objects.filter(pk=session.pk).update(
            next_send_at=now + datetime.timedelta(seconds=delay)
        )
        realtime.campaign_progress_changed(message.campaign_id)
    session.next_send_at = now + datetime.timedelta(seconds=delay)
    logger.warning(
        "Send to %s failed%s: %s",
        message.debtor.phone_e164,
        "" if final else " (will retry)",
        error.reason,
        extra={
            "message_id": message.pk,
            "campaign_id": message.campaign_id,
            "session_id": session.pk,
        },
    )
    return delay


def _auto_pause_if_failing(campaign_id: int) -> None:
    window = settings.ENGINE_AUTO_PAUSE_WINDOW
    recent = list(
        Message.objects.filter(
            campaign_id=campaign_id, status__in=[MessageStatus.SENT, MessageStatus.FAILED]
        )
        .order_by("-updated_at")
        .values_list("status", flat=True)[:window]
    )
    failed = recent.count(MessageStatus.FAILED)
    if len(recent) < window // 2 or failed / len(recent) < settings.ENGINE_AUTO_PAUSE_ERROR_RATE:
        return
    paused = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING).update(
        status=CampaignStatus.PAUSED,
        status_detail=f"Paused automatically: {failed} of the last {len(recent)} sends failed",
        updated_at=timezone.now(),
    )
    if paused:
        logger.error(
            "Campaign %s paused automatically: %d of the last %d sends failed",
            campaign_id,
            failed,
            len(recent),
            extra={"campaign_id": campaign_id},
        )


def engine_send_next(*, session: WhatsAppSession, driver: WhatsAppDriver, pacer: Pacer) -> float:
    """One step of an account's send loop; returns seconds to wait before the next step."""
    wait = pacer.wait_seconds(timezone.now())
    if wait > 0:
        return wait
    message = message_claim_next(session=session)
    if message is None:
        return IDLE_SECONDS
    return message_deliver(message=message, session=session, driver=driver, pacer=pacer)


# --- acknowledgements and replies --------------------------------------------------------

_ACK_FROM = {
    AckStatus.DELIVERED: [MessageStatus.SENT],
    AckStatus.READ: [MessageStatus.SENT, MessageStatus.DELIVERED],
}
_ACK_TIME_FIELD = {AckStatus.DELIVERED: "delivered_at", AckStatus.READ: "read_at"}
_ACK_DEBTOR_STATUS = {
    AckStatus.DELIVERED: DebtorStatus.DELIVERED,
    AckStatus.READ: DebtorStatus.READ,
}


@transaction.atomic
def messages_apply_acks(*, session: WhatsAppSession, acks: list[Ack]) -> int:
    """Move messages forward on delivery/read receipts; one transaction per batch."""
    now = timezone.now()
    moved = 0
    campaigns: set[int] = set()
    for ack in acks:
        if ack.status not in _ACK_FROM:
            continue
        messages = Message.objects.filter(
            session=session, wa_message_id=ack.wa_message_id, status__in=_ACK_FROM[ack.status]
        )
        row = messages.values_list("campaign_id", "debtor_id").first()
        if row is None:
            continue
        moved += messages.update(
            status=ack.status.value, updated_at=now, **{_ACK_TIME_FIELD[ack.status]: now}
        )
        campaigns.add(row[0])
        Debtor.objects.filter(pk=row[1]).exclude(status=DebtorStatus.REPLIED).update(
            status=_ACK_DEBTOR_STATUS[ack.status], updated_at=now
        )
    for campaign_id in campaigns:
        realtime.campaign_progress_changed(campaign_id)
    return moved


@transaction.atomic
def messages_apply_incoming(*, session: WhatsAppSession, incoming: list[IncomingMessage]) -> None:
    """Record replies; a STOP opts the debtor out and skips what was not sent yet."""
    for reply in incoming:
        debtor = Debtor.objects.filter(phone_e164=reply.phone_e164).first()
        if debtor is None:
            continue
        Message.objects.filter(
            pk__in=Message.objects.filter(debtor=debtor, session=session)
            .exclude(sent_at=None)
            .order_by("-sent_at")
            .values("pk")[:1]
        ).update(reply_text=reply.text[:4000], replied_at=reply.received_at)
        if reply.text.strip().upper() in STOP_WORDS:
            Debtor.objects.filter(pk=debtor.pk).update(
                opted_out=True, opted_out_at=reply.received_at, updated_at=timezone.now()
            )
            skipped = Message.objects.filter(
                debtor=debtor, status__in=[MessageStatus.PENDING, MessageStatus.CLAIMED]
            ).update(
                status=MessageStatus.SKIPPED, lease_until=None, last_error="The debtor opted out"
            )
            logger.info(
                "%s replied STOP: opted out, %d message(s) skipped", debtor.phone_e164, skipped
            )
        else:
            Debtor.objects.filter(pk=debtor.pk).update(
                status=DebtorStatus.REPLIED, updated_at=timezone.now()
            )
            logger.info("Reply from %s: %s", debtor.phone_e164, reply.text[:200])


# --- accounts dropping out --------------------------------------------------------------


@transaction.atomic
def messages_reassign_from(*, session: WhatsAppSession) -> int:
    """Hand an account's unsent pre-assigned messages to the rest of each pool.

    Fixed turns go round robin over the remaining enabled members, random turns by weight.
    With no other usable member the messages stay where they are and the campaign waits.
    """
    moved = 0
    campaigns = Campaign.objects.filter(
        status__in=[CampaignStatus.RUNNING, CampaignStatus.PAUSED],
        messages__assigned_session=session,
        messages__status=MessageStatus.PENDING,
    ).distinct()
    for campaign in campaigns.select_related("pool"):
        members = list(
            PoolMember.objects.filter(pool=campaign.pool, enabled=True)
            .exclude(session=session)
            .exclude(session__status__in=UNUSABLE_STATUSES)
            .order_by("position", "id")
        )
        if not members:
            continue
        ids = list(
            Message.objects.filter(
                campaign=campaign, assigned_session=session, status=MessageStatus.PENDING
            ).values_list("id", flat=True)
        )
        for member, chunk in assign_members(campaign.pool.strategy, members, ids).items():
            moved += Message.objects.filter(pk__in=chunk, status=MessageStatus.PENDING).update(
                assigned_session_id=member
            )
    if moved:
        logger.warning(
            "%d message(s) of %s moved to the other accounts of their pools",
            moved,
            session.name,
            extra={"session_id": session.pk},
        )
    return moved


def assign_members(
    strategy: str, members: list[PoolMember], ids: list[int], *, start: int = 0
) -> dict[int, list[int]]:
    """Split message ids among members: round robin for fixed turns, by weight for random.

    `start` continues a round robin begun in an earlier batch.
    """
    chunks: dict[int, list[int]] = {member.session_id: [] for member in members}
    if strategy == PoolStrategy.RANDOM_TURNS:
        picks = random.choices(
            [member.session_id for member in members],
            weights=[member.weight for member in members],
            k=len(ids),
        )
        for message_id, session_id in zip(ids, picks, strict=True):
            chunks[session_id].append(message_id)
    else:
        for index, message_id in enumerate(ids):
            chunks[members[(start + index) % len(members)].session_id].append(message_id)
    return chunks
