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

import bisect
import datetime
import functools
import logging
import random
import re
import time
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Model
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


CAMPAIGNS_TTL_SECONDS = 1.0


def _running_campaigns_for(session: WhatsAppSession) -> list[int]:
    """Running campaigns whose pool has this account as an enabled member."""
    return list(
        Campaign.objects.filter(
            status=CampaignStatus.RUNNING,
            pool__members__session=session,
            pool__members__enabled=True,
        ).values_list("id", flat=True)
    )


@dataclass
class ClaimScope:
    """Where an account's send loop claims from: its running campaigns, and past which id.

    The campaigns are re-read at most once a second while the account is busy. A stale
    list costs nothing unsafe: every claim re-checks that the campaign still runs, so a
    pause stops claims at once; a new campaign or pool membership is seen within
    CAMPAIGNS_TTL_SECONDS, or at once when the account has nothing else to do.

    Claims start past the last message this account claimed: every message claimed
    before it leaves a dead entry at the head of the pending index until VACUUM, and
    stepping over tens of thousands of them on every claim made a large campaign slower
    the further it got. Messages that become pending again behind that point (a released
    claim, a retry) are reached when the scope is re-read, within the same second.
    """

    campaign_ids: list[int] = field(default_factory=list)
    after: int = 0
    _expires: float = 0.0

    def refresh(self, session: WhatsAppSession) -> None:
        now = time.monotonic()
        if now >= self._expires:
            self.campaign_ids = _running_campaigns_for(session)
            self.after = 0
            self._expires = now + CAMPAIGNS_TTL_SECONDS

    def forget(self) -> None:
        self._expires = 0.0


# --- pacing -----------------------------------------------------------------------------


@dataclass
class Pacer:
    """One account's sending budget: delay, hourly and daily caps, active hours.

    The earliest next send is kept in the database (`next_send_at`); the caps count this
    account's sends, loaded from Message rows when the host starts and kept up to date by
    the host (the only sender for its account). It also remembers which campaigns the
    account serves, for the send loop.
    """

    session: WhatsAppSession
    # Send times of the last day, oldest first.
    recent: list[datetime.datetime] = field(default_factory=list)
    scope: ClaimScope = field(default_factory=ClaimScope)

    @classmethod
    def load(cls, session: WhatsAppSession) -> "Pacer":
        since = timezone.now() - datetime.timedelta(days=1)
        sent_at = (
            Message.objects.filter(session=session, sent_at__gte=since)
            .order_by("sent_at")
            .values_list("sent_at", flat=True)
        )
        return cls(session=session, recent=[at for at in sent_at if at is not None])

    def record(self, when: datetime.datetime) -> None:
        self.recent.append(when)

    def next_delay(self) -> float:
        low, high = self.session.min_delay_seconds, self.session.max_delay_seconds
        return random.uniform(low, high)

    def wait_seconds(self, now: datetime.datetime) -> float:
        """0 when the account may send now, else how long until it may."""
        session = self.session
        recent = self.recent
        del recent[: bisect.bisect_left(recent, now - datetime.timedelta(days=1))]
        zone = ZoneInfo(session.time_zone)
        local = now.astimezone(zone)
        waits = [0.0]
        if session.next_send_at and session.next_send_at > now:
            waits.append((session.next_send_at - now).total_seconds())
        window = _seconds_until_active(local, session.active_from, session.active_until)
        waits.append(window)
        in_last_hour = len(recent) - bisect.bisect_left(recent, now - datetime.timedelta(hours=1))
        if in_last_hour >= session.hourly_cap:
            oldest = recent[len(recent) - session.hourly_cap]
            waits.append((oldest + datetime.timedelta(hours=1) - now).total_seconds())
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if len(recent) - bisect.bisect_left(recent, midnight) >= session.daily_cap:
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
#
# The steps every message takes are written as SQL: at hundreds of messages a second the
# ORM's per-query Python cost outweighs PostgreSQL's. Each statement is still one
# conditional UPDATE of one message (guarded by its expected status), and the SQL is the
# same on SQLite (`make run`) except that SQLite, with one writer at a time, needs no locks.


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _literal(status: str) -> str:
    """A status as an SQL literal. Partial indexes (`WHERE status = 'pending'`) serve only
    statements that spell the status out, not ones that pass it as a parameter."""
    if not re.fullmatch(r"[a-z_]+", status):
        raise ValueError(f"not a status: {status!r}")
    return f"'{status}'"


def _run(sql: str, params: dict[str, Any]) -> tuple[int, list[tuple[Any, ...]]]:
    """Run one of the engine's statements: (rows changed, rows returned).

    On PostgreSQL the statement is prepared, so it is planned once per connection rather
    than on every message (planning the claim costs as much as running it). Django's own
    cursors bind parameters on the client and cannot prepare.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount, cursor.fetchall() if cursor.description else []
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.rowcount, cursor.fetchall() if cursor.description else []


@functools.cache
def _claim_sql(campaigns: int) -> str:
    """pending -> claimed for this account's next message, returning what sending needs.

    Pre-assigned messages (fixed or random turns) first, then the pool's open ones
    (competitive); SKIP LOCKED lets many hosts claim side by side without waiting.
    """
    message, debtor, campaign = _table(Message), _table(Debtor), _table(Campaign)
    pending, claimed = _literal(MessageStatus.PENDING), _literal(MessageStatus.CLAIMED)
    running = _literal(CampaignStatus.RUNNING)
    if connection.vendor == "postgresql":
        # Arrays even for one value: given `column = $1`, PostgreSQL treats the column as
        # constant, sees the primary key as already in order and may walk it through every
        # message sent so far. Ordered by the pending indexes' own keys, no plan but
        # walking one of those indexes from `after` can stop at the first row.
        among, owner = "= ANY(%(campaigns)s)", "= ANY(%(sessions)s)"
        lock = " FOR UPDATE SKIP LOCKED"
    else:  # SQLite: one writer at a time, nothing to lock or to outwit
        among = "IN (" + ", ".join(f"%(campaign{index})s" for index in range(campaigns)) + ")"
        owner, lock = "= %(session)s", ""

    def candidate(owned: str, order: str) -> str:
        return (
            f"(SELECT candidate.id FROM {message} AS candidate WHERE {owned}"  # noqa: S608
            f" AND candidate.status = {pending} AND candidate.campaign_id {among}"
            f" AND candidate.id > %(after)s ORDER BY {order} LIMIT 1{lock})"
        )

    def debtors(column: str) -> str:
        return f"(SELECT {column} FROM {debtor} WHERE {debtor}.id = {message}.debtor_id)"  # noqa: S608

    assigned = candidate(
        f"candidate.assigned_session_id {owner}", "candidate.assigned_session_id, candidate.id"
    )
    pooled = candidate(
        "candidate.assigned_session_id IS NULL", "candidate.campaign_id, candidate.id"
    )
    # No aliases for the updated table and no join: SQLite refuses both in RETURNING.
    return (
        f"UPDATE {message} SET status = {claimed}, session_id = %(session)s,"  # noqa: S608
        " claimed_at = %(now)s, lease_until = %(lease)s, updated_at = %(now)s"
        f" WHERE {message}.status = {pending} AND id = COALESCE({assigned}, {pooled})"
        # Pause stops new claims at once, whatever the caller believes is running.
        f" AND EXISTS (SELECT 1 FROM {campaign} WHERE {campaign}.id = {message}.campaign_id"
        f" AND {campaign}.status = {running})"
        f" RETURNING id, campaign_id, debtor_id, body, attempts, {debtors('phone_e164')},"
        f" {debtors('opted_out')}"
    )


@dataclass(frozen=True)
class Claim:
    """A claimed message and what sending it takes (lighter to build than a Message)."""

    pk: int
    campaign_id: int
    debtor_id: int
    body: str
    attempts: int
    phone_e164: str
    opted_out: bool

    @classmethod
    def of(cls, message: Message) -> "Claim":
        return cls(
            pk=message.pk,
            campaign_id=message.campaign_id,
            debtor_id=message.debtor_id,
            body=message.body,
            attempts=message.attempts,
            phone_e164=message.debtor.phone_e164,
            opted_out=message.debtor.opted_out,
        )


def _claim(
    session: WhatsAppSession, campaign_ids: list[int], now: datetime.datetime, *, after: int = 0
) -> Claim | None:
    """Run inside a transaction: pending -> claimed, leased from `now`."""
    lease = now + datetime.timedelta(seconds=settings.ENGINE_CLAIM_LEASE_SECONDS)
    params: dict[str, Any] = {
        "session": session.pk,
        "now": now,
        "lease": lease,
        "after": after,
    }
    if connection.vendor == "postgresql":
        params.update(sessions=[session.pk], campaigns=campaign_ids)
    else:
        params.update({f"campaign{index}": pk for index, pk in enumerate(campaign_ids)})
    _, rows = _run(_claim_sql(len(campaign_ids)), params)
    return Claim(*rows[0]) if rows else None


def message_claim_next(*, session: WhatsAppSession) -> Message | None:
    """Lease the next message this account should send, or None if there is none."""
    campaign_ids = _running_campaigns_for(session)
    if not campaign_ids:
        return None
    now = timezone.now()
    with transaction.atomic():
        claim = _claim(session, campaign_ids, now)
    if claim is None:
        return None
    message = Message(
        pk=claim.pk,
        campaign_id=claim.campaign_id,
        debtor_id=claim.debtor_id,
        body=claim.body,
        attempts=claim.attempts,
        status=MessageStatus.CLAIMED,
        session=session,
        claimed_at=now,
        lease_until=now + datetime.timedelta(seconds=settings.ENGINE_CLAIM_LEASE_SECONDS),
    )
    message.debtor = Debtor(
        pk=claim.debtor_id, phone_e164=claim.phone_e164, opted_out=claim.opted_out
    )
    return message


def _skip(claim: Claim, reason: str) -> None:
    changed = Message.objects.filter(pk=claim.pk, status=MessageStatus.CLAIMED).update(
        status=MessageStatus.SKIPPED,
        last_error=reason,
        lease_until=None,
        updated_at=timezone.now(),
    )
    if changed:
        realtime.campaign_progress_changed(claim.campaign_id)


@functools.cache
def _begin_sending_sql() -> str:
    message, campaign = _table(Message), _table(Campaign)
    claimed, sending = _literal(MessageStatus.CLAIMED), _literal(MessageStatus.SENDING)
    running = _literal(CampaignStatus.RUNNING)
    return (
        f"UPDATE {message} SET status = {sending}, attempts = attempts + 1,"  # noqa: S608
        " lease_until = %(lease)s, updated_at = %(now)s"
        f" WHERE id = %(message)s AND status = {claimed} AND session_id = %(session)s"
        f" AND EXISTS (SELECT 1 FROM {campaign} WHERE {campaign}.id = {message}.campaign_id"
        f" AND {campaign}.status = {running})"
    )


def _begin_sending(claim: Claim, session: WhatsAppSession) -> bool:
    """claimed -> sending (or skipped, or back to pending); the caller commits it.

    `sending` must be committed before the driver is touched.
    """
    if claim.opted_out:
        _skip(claim, "The debtor opted out")
        return False
    now = timezone.now()
    changed, _ = _run(
        _begin_sending_sql(),
        {
            "lease": now + datetime.timedelta(seconds=settings.ENGINE_SEND_TIMEOUT_SECONDS),
            "now": now,
            "message": claim.pk,
            "session": session.pk,
        },
    )
    if changed != 1:
        # Paused or cancelled since the claim: give the message back untouched.
        Message.objects.filter(pk=claim.pk, status=MessageStatus.CLAIMED, session=session).update(
            status=MessageStatus.PENDING, lease_until=None, session=None, updated_at=now
        )
    return changed == 1


def _after_send(session: WhatsAppSession, pacer: Pacer, now: datetime.datetime) -> float:
    delay = pacer.next_delay()
    session.next_send_at = now + datetime.timedelta(seconds=delay)
    pacer.record(now)
    return delay


@functools.cache
def _settle_sent_sql() -> list[str]:
    """sending -> sent, then the debtor's status and the account's pacing and counter.

    The last two follow only if the message was still sending. PostgreSQL runs all three
    as one statement; elsewhere they are three, in one transaction.
    """
    message, debtor, account = _table(Message), _table(Debtor), _table(WhatsAppSession)
    sending, sent = _literal(MessageStatus.SENDING), _literal(MessageStatus.SENT)
    set_message = (
        f"UPDATE {message} SET status = {sent}, wa_message_id = %(wa_message_id)s,"  # noqa: S608
        " sent_at = %(now)s, lease_until = NULL, last_error = '', updated_at = %(now)s"
        f" WHERE id = %(message)s AND status = {sending}"
    )
    debtor_sent = _literal(DebtorStatus.SENT)
    set_debtor = f"UPDATE {debtor} SET status = {debtor_sent}, updated_at = %(now)s"  # noqa: S608
    set_account = (
        f"UPDATE {account} SET next_send_at = %(next_send_at)s,"  # noqa: S608
        " sent_count = sent_count + 1 WHERE id = %(session)s"
    )
    if connection.vendor == "postgresql":
        return [
            f"WITH sent AS ({set_message} RETURNING debtor_id),"  # noqa: S608
            f" debtor AS ({set_debtor} WHERE id = (SELECT debtor_id FROM sent)),"
            f" account AS ({set_account} AND EXISTS (SELECT 1 FROM sent))"
            " SELECT count(*) FROM sent"
        ]
    return [set_message, f"{set_debtor} WHERE id = %(debtor)s", set_account]


def _settle_sent(
    claim: Claim, session: WhatsAppSession, wa_message_id: str, now: datetime.datetime
) -> None:
    """Record what WhatsApp took, in one commit."""
    params: dict[str, Any] = {
        "wa_message_id": wa_message_id,
        "now": now,
        "next_send_at": session.next_send_at,
        "message": claim.pk,
        "debtor": claim.debtor_id,
        "session": session.pk,
    }
    first, *rest = _settle_sent_sql()
    with transaction.atomic():
        changed, rows = _run(first, params)
        if (rows[0][0] if rows else changed) != 1:
            # Past its send timeout the sweep made it `unknown`: an operator decides.
            logger.warning(
                "Message %s reached WhatsApp after it was given up on",
                claim.pk,
                extra={"message_id": claim.pk, "campaign_id": claim.campaign_id},
            )
            return
        for sql in rest:
            _run(sql, params)
        realtime.campaign_progress_changed(claim.campaign_id)


def _send(claim: Claim, session: WhatsAppSession, driver: WhatsAppDriver, pacer: Pacer) -> float:
    """Hand a committed `sending` message to the driver and settle the outcome."""
    try:
        result = driver.send_text(phone_e164=claim.phone_e164, text=claim.body)
    except SendError as exc:
        return _settle_failure(claim=claim, session=session, pacer=pacer, error=exc)
    now = timezone.now()
    delay = _after_send(session, pacer, now)
    _settle_sent(claim, session, result.wa_message_id, now)
    return delay


def message_deliver(
    *, message: Message, session: WhatsAppSession, driver: WhatsAppDriver, pacer: Pacer
) -> float:
    """Send one claimed message through `driver`; returns seconds until the next send."""
    claim = Claim.of(message)
    with transaction.atomic():
        started = _begin_sending(claim, session)
    if not started:
        return 0.0
    return _send(claim, session, driver, pacer)


def _settle_failure(
    *, claim: Claim, session: WhatsAppSession, pacer: Pacer, error: SendError
) -> float:
    now = timezone.now()
    delay = _after_send(session, pacer, now) if error.permanent else pacer.next_delay()
    # The claim loaded the count; moving to `sending` added this attempt.
    final = error.permanent or claim.attempts + 1 >= settings.ENGINE_MAX_ATTEMPTS
    with transaction.atomic():
        if final:
            Message.objects.filter(pk=claim.pk, status=MessageStatus.SENDING).update(
                status=MessageStatus.FAILED,
                last_error=error.reason[:500],
                failed_at=now,
                lease_until=None,
                updated_at=now,
            )
            WhatsAppSession.objects.filter(pk=session.pk).update(failed_count=F("failed_count") + 1)
            if isinstance(error, NotOnWhatsApp):
                Debtor.objects.filter(pk=claim.debtor_id).update(
                    status=DebtorStatus.UNREACHABLE, updated_at=now
                )
            _auto_pause_if_failing(claim.campaign_id)
        else:
            # The driver says nothing left the compose box: safe to try again later.
            Message.objects.filter(pk=claim.pk, status=MessageStatus.SENDING).update(
                status=MessageStatus.PENDING,
                session=None,
                lease_until=None,
                last_error=error.reason[:500],
                updated_at=now,
            )
        WhatsAppSession.objects.filter(pk=session.pk).update(
            next_send_at=now + datetime.timedelta(seconds=delay)
        )
        realtime.campaign_progress_changed(claim.campaign_id)
    session.next_send_at = now + datetime.timedelta(seconds=delay)
    logger.warning(
        "Send to %s failed%s: %s",
        claim.phone_e164,
        "" if final else " (will retry)",
        error.reason,
        extra={
            "message_id": claim.pk,
            "campaign_id": claim.campaign_id,
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
    """One step of an account's send loop; returns seconds to wait before the next step.

    The claim and `claimed -> sending` share one commit when the account may send now;
    the driver is only touched after that commit.
    """
    wait = pacer.wait_seconds(timezone.now())
    if wait > 0:
        return wait
    scope = pacer.scope
    scope.refresh(session)
    if not scope.campaign_ids:
        return IDLE_SECONDS
    now = timezone.now()
    with transaction.atomic():
        claim = _claim(session, scope.campaign_ids, now, after=scope.after)
        if claim is None and scope.after:
            claim = _claim(session, scope.campaign_ids, now)
        started = claim is not None and _begin_sending(claim, session)
    if claim is None or not started:
        # Nothing to do, or its campaign stopped: look at the running campaigns afresh.
        scope.forget()
        return IDLE_SECONDS if claim is None else 0.0
    scope.after = claim.pk
    return _send(claim, session, driver, pacer)


# --- acknowledgements and replies --------------------------------------------------------

_ACK_ORDER: dict[str, int] = {
    MessageStatus.SENT: 0,
    MessageStatus.DELIVERED: 1,
    MessageStatus.READ: 2,
}
_ACK_DEBTOR_STATUS: dict[str, str] = {
    MessageStatus.DELIVERED: DebtorStatus.DELIVERED,
    MessageStatus.READ: DebtorStatus.READ,
}


@transaction.atomic
def messages_apply_acks(*, session: WhatsAppSession, acks: list[Ack]) -> int:
    """Move messages forward on delivery/read receipts; a few statements per batch.

    A receipt never moves a message back (a late "delivered" leaves a read message read);
    returns how many steps were taken (sent -> delivered -> read counts two).
    """
    now = timezone.now()
    wanted: dict[str, set[str]] = {}
    for ack in acks:
        if ack.status in (AckStatus.DELIVERED, AckStatus.READ):
            wanted.setdefault(ack.wa_message_id, set()).add(ack.status.value)
    rows = Message.objects.filter(
        session=session,
        wa_message_id__in=list(wanted),
        status__in=[MessageStatus.SENT, MessageStatus.DELIVERED],
    ).values_list("pk", "wa_message_id", "status", "campaign_id", "debtor_id")
    # One UPDATE per kind of step, each still conditional on the status it expects.
    steps: dict[tuple[str, str, bool], list[int]] = {}
    debtors: dict[str, list[int]] = {}
    campaigns: set[int] = set()
    moved = 0
    for pk, wa_message_id, status, campaign_id, debtor_id in rows:
        statuses = wanted[wa_message_id]
        to: str = MessageStatus.READ if AckStatus.READ in statuses else MessageStatus.DELIVERED
        if _ACK_ORDER[to] <= _ACK_ORDER[status]:
            continue
        # "delivered" and "read" in one batch take a sent message through both steps.
        through_delivered = (
            to == MessageStatus.READ
            and status == MessageStatus.SENT
            and AckStatus.DELIVERED in statuses
        )
        steps.setdefault((status, to, through_delivered), []).append(pk)
        debtors.setdefault(to, []).append(debtor_id)
        campaigns.add(campaign_id)
        moved += 2 if through_delivered else 1
    for (status, to, through_delivered), pks in steps.items():
        fields: dict[str, object] = {"status": to, "updated_at": now}
        if to == MessageStatus.DELIVERED or through_delivered:
            fields["delivered_at"] = now
        if to == MessageStatus.READ:
            fields["read_at"] = now
        Message.objects.filter(pk__in=pks, status=status).update(**fields)
    # The debtor follows its latest message, unless it replied: replies outrank receipts.
    for to, ids in sorted(debtors.items(), key=lambda item: _ACK_ORDER[item[0]]):
        Debtor.objects.filter(pk__in=ids).exclude(status=DebtorStatus.REPLIED).update(
            status=_ACK_DEBTOR_STATUS[to], updated_at=now
        )
    for campaign_id in campaigns:
        realtime.campaign_progress_changed(campaign_id)
    return moved


@transaction.atomic
def messages_apply_incoming(*, session: WhatsAppSession, incoming: list[IncomingMessage]) -> None:
    """Record replies; a STOP opts the debtor out and skips what was not sent yet."""
    debtors = dict(
        Debtor.objects.filter(phone_e164__in={reply.phone_e164 for reply in incoming}).values_list(
            "phone_e164", "pk"
        )
    )
    if not debtors:
        return
    # A reply answers the debtor's latest message sent from this account.
    latest = dict(
        Message.objects.filter(session=session, debtor_id__in=debtors.values())
        .exclude(sent_at=None)
        .order_by("sent_at", "pk")
        .values_list("debtor_id", "pk")
    )
    answered: dict[int, Message] = {}
    replied: set[int] = set()
    for reply in incoming:
        debtor_id = debtors.get(reply.phone_e164)
        if debtor_id is None:
            continue
        if debtor_id in latest:
            answered[debtor_id] = Message(
                pk=latest[debtor_id], reply_text=reply.text[:4000], replied_at=reply.received_at
            )
        if reply.text.strip().upper() in STOP_WORDS:
            Debtor.objects.filter(pk=debtor_id).update(
                opted_out=True, opted_out_at=reply.received_at, updated_at=timezone.now()
            )
            skipped = Message.objects.filter(
                debtor_id=debtor_id, status__in=[MessageStatus.PENDING, MessageStatus.CLAIMED]
            ).update(
                status=MessageStatus.SKIPPED, lease_until=None, last_error="The debtor opted out"
            )
            logger.info(
                "%s replied STOP: opted out, %d message(s) skipped", reply.phone_e164, skipped
            )
        else:
            replied.add(debtor_id)
            logger.info("Reply from %s: %s", reply.phone_e164, reply.text[:200])
    if answered:
        Message.objects.bulk_update(answered.values(), ["reply_text", "replied_at"])
    if replied:
        Debtor.objects.filter(pk__in=replied).update(
            status=DebtorStatus.REPLIED, updated_at=timezone.now()
        )


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
