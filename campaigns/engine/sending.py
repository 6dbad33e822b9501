"""Sending: claimed -> sending -> sent (or failed), one account's send loop step by step."""

import contextlib
import datetime
import functools
import logging
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Coalesce
from django.utils import timezone

from campaigns.engine.claims import Claim, claim_next
from campaigns.engine.pacing import Pacer
from campaigns.engine.statements import literal, run, table
from campaigns.models import (
    DO_NOT_CONTACT_REASON,
    OPTED_OUT_REASON,
    Campaign,
    CampaignStatus,
    Message,
    MessageKind,
    MessageStatus,
)
from campaigns.selectors import SENT_STATUSES
from debtors.models import CLOSED_STATUSES, Debtor, DebtorStatus, OnWhatsApp
from sessions_app.drivers.base import (
    AccountRestricted,
    NotOnWhatsApp,
    NumberCheck,
    NumberUnconfirmed,
    SendError,
    SendOutcomeUnknown,
    SendResult,
    WhatsAppDriver,
)
from sessions_app.models import AccountChat, WhatsAppSession
from webhooks.models import EventType
from webhooks.services import (
    campaign_events_emit,
    events_subscribed,
    kick,
    message_events_emit,
    message_events_insert_sql,
)
from whatsmassive import clock, realtime
from whatsmassive.models import AuditKind, AuditRecord
from whatsmassive.services import audit_record_add

logger = logging.getLogger(__name__)

IDLE_SECONDS = 1.0
KNOWN_ONLY_IDLE_SECONDS = 10.0


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
    message, campaign = table(Message), table(Campaign)
    claimed, sending = literal(MessageStatus.CLAIMED), literal(MessageStatus.SENDING)
    running = literal(CampaignStatus.RUNNING)
    # The same test as `=` for an account: spelled so that no index on the account serves
    # it, or a planner on stale statistics walks all of the account's messages to find one.
    mine = "IS NOT DISTINCT FROM" if connection.vendor == "postgresql" else "="
    return (
        f"UPDATE {message} SET status = {sending}, attempts = attempts + 1,"  # noqa: S608
        " wa_message_id = %(wa_message_id)s, lease_until = %(lease)s, updated_at = %(now)s"
        f" WHERE id = %(message)s AND status = {claimed} AND session_id {mine} %(session)s"
        f" AND ({message}.campaign_id IS NULL OR EXISTS (SELECT 1 FROM {campaign}"
        f" WHERE {campaign}.id = {message}.campaign_id AND {campaign}.status = {running}))"
    )


def _prepared_id(claim: Claim, driver: WhatsAppDriver) -> str:
    """The WhatsApp id the send will use, when the driver chooses ids ("" otherwise)."""
    try:
        return driver.prepare_send(phone_e164=claim.phone_e164) or ""
    except SendError as exc:
        # The send itself then fails or succeeds under an id of WhatsApp's choosing.
        logger.warning("No message id prepared for message %s: %s", claim.pk, exc.reason)
        return ""


def _begin_sending(claim: Claim, session: WhatsAppSession, driver: WhatsAppDriver) -> str | None:
    """claimed -> sending (or skipped, or back to pending); the caller commits it.

    `sending` must be committed before the driver sends, together with the WhatsApp id
    the driver prepared (a local step), so that after a crash the message can be looked
    up by it. Returns that id ("" when the driver has none), None when not started.
    """
    if claim.opted_out and claim.kind != MessageKind.CONFIRMATION:
        # A safety net: debtor_opt_out skips unsent messages itself, this catches a debtor
        # opted out any other way (a data fix, a script). Only the opt-out's own
        # confirmation still goes to them.
        _skip(claim, OPTED_OUT_REASON)
        return None
    if claim.do_not_contact and claim.kind != MessageKind.CONFIRMATION:
        _skip(claim, DO_NOT_CONTACT_REASON)
        return None
    if claim.on_whatsapp == OnWhatsApp.NO:
        _skip(claim, "Not on WhatsApp (WhatsApp said so for an earlier message)")
        return None
    now = timezone.now()
    wa_message_id = _prepared_id(claim, driver)
    changed, _ = run(
        _begin_sending_sql(),
        {
            "lease": now + datetime.timedelta(seconds=settings.ENGINE_SEND_TIMEOUT_SECONDS),
            "now": now,
            "message": claim.pk,
            "session": session.pk,
            "wa_message_id": wa_message_id,
        },
    )
    if changed != 1:
        # Paused or cancelled since the claim: give the message back untouched.
        Message.objects.filter(pk=claim.pk, status=MessageStatus.CLAIMED, session=session).update(
            status=MessageStatus.PENDING, lease_until=None, session=None, updated_at=now
        )
        return None
    return wa_message_id


def _after_send(session: WhatsAppSession, pacer: Pacer, now: datetime.datetime) -> float:
    delay = pacer.next_delay()
    session.next_send_at = now + datetime.timedelta(seconds=delay)
    pacer.record(now)
    return delay


@functools.cache
def _settle_sent_sql(event: bool) -> list[str]:
    """sending -> sent, then the debtor, the account's pacing and counter, the send's
    audit record, the account's chat with the number and, with `event`, the outbox rows
    of its `message.sent` webhook event.

    The others follow only if the message was still sending. The debtor learns in the
    same write what the send taught about the number (on WhatsApp, its LID): with neither
    its status nor those columns changing an index, the update can be HOT. The chat is
    inserted unless the account has one with the number already; whether it was is what
    the new-chat budget counts. PostgreSQL runs them all as one statement returning
    (messages sent, chats opened, events written); elsewhere they are five, in one
    transaction, the last one's row count saying whether a chat was opened, and the event
    is written after them.
    """
    message, debtor, account = table(Message), table(Debtor), table(WhatsAppSession)
    sending, sent = literal(MessageStatus.SENDING), literal(MessageStatus.SENT)
    set_message = (
        f"UPDATE {message} SET status = {sent}, wa_message_id = %(wa_message_id)s,"  # noqa: S608
        " sent_at = %(now)s, lease_until = NULL, last_error = '', updated_at = %(now)s"
        f" WHERE id = %(message)s AND status = {sending}"
    )
    debtor_sent, yes = literal(DebtorStatus.SENT), literal(OnWhatsApp.YES)
    # A debtor an operator closed (paid, disputed, wrong number) while this was in flight
    # keeps that status, and so does one sent an answer or a confirmation: only campaign
    # work moves where the collection stands. What the send taught about the number is
    # still learned.
    closed = ", ".join(literal(status) for status in CLOSED_STATUSES)
    set_debtor = (
        f"UPDATE {debtor} SET updated_at = %(now)s,"  # noqa: S608
        f" status = CASE WHEN status IN ({closed}) OR NOT %(campaign_work)s THEN status"
        f" ELSE {debtor_sent} END,"
        f" on_whatsapp = CASE WHEN %(checked)s THEN {yes} ELSE on_whatsapp END,"
        " whatsapp_checked_at = CASE WHEN %(checked)s THEN %(now)s ELSE whatsapp_checked_at END,"
        " whatsapp_lid = COALESCE(NULLIF(%(lid)s, ''), whatsapp_lid)"
    )
    set_account = (
        f"UPDATE {account} SET next_send_at = %(next_send_at)s,"  # noqa: S608
        " sent_count = sent_count + 1 WHERE id = %(session)s"
    )
    audit = (
        f"INSERT INTO {table(AuditRecord)} (at, kind, action, by_id, by_name, phone_e164,"
        " campaign_id, session_id, message_id, wa_message_id, text, detail)"
        f" SELECT %(now)s, {literal(AuditKind.SEND)}, {sent}, NULL, '', %(phone)s,"
        " campaign_id, %(session)s, id, %(wa_message_id)s, body, '{}'"
    )
    chat = (
        f"INTO {table(AccountChat)} (session_id, phone_e164, opened_at, outgoing)"
        " SELECT %(session)s, %(phone)s, %(opened_at)s, TRUE"
    )
    if connection.vendor == "postgresql":
        returned = (
            "id, campaign_id, debtor_id, body, session_id, status, wa_message_id, last_error,"
            " attempts"
        )
        parts = [
            f"sent AS ({set_message} RETURNING {returned})",
            f"debtor AS ({set_debtor} WHERE id = (SELECT debtor_id FROM sent))",  # noqa: S608
            f"account AS ({set_account} AND EXISTS (SELECT 1 FROM sent))",  # noqa: S608
            f"audit AS ({audit} FROM sent)",
            f"chat AS (INSERT {chat} FROM sent ON CONFLICT (session_id, phone_e164) DO NOTHING"
            " RETURNING 1)",
        ]
        counts = ["(SELECT count(*) FROM sent)", "(SELECT count(*) FROM chat)", "0"]
        if event:
            outbox = message_events_insert_sql(
                messages="sent m", type=literal(EventType.MESSAGE_SENT)
            )
            parts.append(f"event AS ({outbox} RETURNING 1)")
            counts[2] = "(SELECT count(*) FROM event)"
        return [f"WITH {', '.join(parts)} SELECT {', '.join(counts)}"]
    return [
        set_message,
        f"{set_debtor} WHERE id = %(debtor)s",
        set_account,
        f"{audit} FROM {message} WHERE id = %(message)s",
        f"INSERT OR IGNORE {chat}",
    ]


def _settle_sent(
    claim: Claim,
    session: WhatsAppSession,
    result: SendResult,
    now: datetime.datetime,
    check: NumberCheck | None,
) -> bool:
    """Record what WhatsApp took, in one commit; True when the send opened a new chat."""
    params: dict[str, Any] = {
        "wa_message_id": result.wa_message_id,
        "now": now,
        "next_send_at": session.next_send_at,
        "message": claim.pk,
        "debtor": claim.debtor_id,
        "session": session.pk,
        "checked": check is not None,
        "campaign_work": claim.kind == MessageKind.CAMPAIGN,
        # The DOM strategy learns the LID from the chat's message ids: replies may use it.
        "lid": result.lid or (check.lid if check else ""),
        "phone": claim.phone_e164,
        # The new-chat budget counts the day on the clock its decisions read.
        "opened_at": clock.now(),
    }
    event = events_subscribed(EventType.MESSAGE_SENT)
    first, *rest = _settle_sent_sql(event)
    # On PostgreSQL the settle, its webhook event included, is one statement and so its own
    # transaction: no BEGIN and COMMIT round trips around it.
    with transaction.atomic() if rest else contextlib.nullcontext():
        changed, rows = run(first, params)
        if (rows[0][0] if rows else changed) != 1:
            # Past its send timeout the sweep made it `unknown`: an operator decides.
            logger.warning(
                "Message %s reached WhatsApp after it was given up on",
                claim.pk,
                extra={"message_id": claim.pk, "campaign_id": claim.campaign_id},
            )
            return False
        opened: int = 0
        if rows:
            _, opened, events = rows[0]
            if events:
                kick()
        else:
            for sql in rest:
                opened, _ = run(sql, params)
            message_events_emit([(EventType.MESSAGE_SENT, claim.pk)])
        realtime.campaign_progress_changed(claim.campaign_id)
    return opened == 1


def _check_number(claim: Claim, driver: WhatsAppDriver) -> NumberCheck | None:
    """Before the first message to a number: ask WhatsApp. A yes is remembered on the debtor
    by the settle, in the same write as its status."""
    check = driver.check_number(phone_e164=claim.phone_e164)
    if check is not None and not check.on_whatsapp:
        raise NotOnWhatsApp(claim.phone_e164)
    return check


def _send(
    claim: Claim,
    session: WhatsAppSession,
    driver: WhatsAppDriver,
    pacer: Pacer,
    wa_message_id: str = "",
) -> float:
    """Hand a committed `sending` message to the driver and settle the outcome."""
    check = None
    try:
        if claim.on_whatsapp == OnWhatsApp.UNKNOWN:
            check = _check_number(claim, driver)
        result = driver.send_text(
            phone_e164=claim.phone_e164, text=claim.body, message_id=wa_message_id or None
        )
    except SendError as exc:
        return _settle_failure(claim=claim, session=session, pacer=pacer, error=exc)
    now = timezone.now()
    delay = _after_send(session, pacer, now)
    if _settle_sent(claim, session, result, now, check):
        pacer.record_new_chat(clock.now())
    if claim.kind == MessageKind.REPLY:
        # An operator answered: only now may the debtor see that their messages were read.
        driver.mark_read(phone_e164=claim.phone_e164)
    return delay


UNKNOWN_ADVICE = "check the phone, then mark sent or resend"


def _settle_failure(
    *, claim: Claim, session: WhatsAppSession, pacer: Pacer, error: SendError
) -> float:
    now = timezone.now()
    # A permanent error took a turn with WhatsApp (a chat opened, maybe a send): it is paced.
    delay = _after_send(session, pacer, now) if error.permanent else pacer.next_delay()
    # The claim loaded the count; moving to `sending` added this attempt.
    final = error.permanent or claim.attempts + 1 >= settings.ENGINE_MAX_ATTEMPTS
    sending = Message.objects.filter(pk=claim.pk, status=MessageStatus.SENDING)
    session.next_send_at = now + datetime.timedelta(seconds=delay)
    account: dict[str, Any] = {"next_send_at": session.next_send_at}
    event, changed = None, 0
    with transaction.atomic():
        if isinstance(error, AccountRestricted) and not error.sent:
            # WhatsApp refused it before its server took it: another account may send it,
            # and this attempt does not count against the message.
            result = "refused"
            sending.update(
                status=MessageStatus.PENDING,
                session=None,
                attempts=F("attempts") - 1,
                wa_message_id="",
                lease_until=None,
                last_error=error.reason[:500],
                updated_at=now,
            )
        elif isinstance(error, SendOutcomeUnknown | AccountRestricted):
            event, result = EventType.MESSAGE_UNKNOWN, MessageStatus.UNKNOWN
            changed = sending.update(
                status=MessageStatus.UNKNOWN,
                wa_message_id=error.wa_message_id,  # a later receipt settles it
                last_error=f"{error.reason}: {UNKNOWN_ADVICE}"[:500],
                lease_until=None,
                updated_at=now,
            )
            _auto_pause_if_failing(claim.campaign_id)
        elif final:
            event, result = EventType.MESSAGE_FAILED, MessageStatus.FAILED
            changed = sending.update(
                status=MessageStatus.FAILED,
                last_error=error.reason[:500],
                failed_at=now,
                lease_until=None,
                updated_at=now,
            )
            account["failed_count"] = F("failed_count") + 1
            if isinstance(error, NotOnWhatsApp | NumberUnconfirmed):
                # Every attempt found no account: later campaigns skip the number.
                Debtor.objects.filter(pk=claim.debtor_id).update(
                    status=Case(
                        When(status__in=CLOSED_STATUSES, then=F("status")),
                        default=Value(DebtorStatus.UNREACHABLE),
                    ),
                    on_whatsapp=OnWhatsApp.NO,
                    whatsapp_checked_at=now,
                    updated_at=now,
                )
            _auto_pause_if_failing(claim.campaign_id)
        else:
            # The driver says nothing left the compose box: safe to try again later.
            result = "retry"
            sending.update(
                status=MessageStatus.PENDING,
                session=None,
                wa_message_id="",
                lease_until=None,
                last_error=error.reason[:500],
                updated_at=now,
            )
        WhatsAppSession.objects.filter(pk=session.pk).update(**account)
        audit_record_add(
            kind=AuditKind.SEND,
            action=result,
            at=now,
            phone_e164=claim.phone_e164,
            campaign_id=claim.campaign_id,
            session_id=session.pk,
            message_id=claim.pk,
            wa_message_id=getattr(error, "wa_message_id", ""),
            text=claim.body,
            detail={"error": error.reason[:500]},
        )
        if event is not None and changed:
            message_events_emit([(event, claim.pk)])
        realtime.campaign_progress_changed(claim.campaign_id)
    _log_failure(claim, session, error, final=final)
    return delay


def _log_failure(claim: Claim, session: WhatsAppSession, error: SendError, *, final: bool) -> None:
    extra = {"message_id": claim.pk, "campaign_id": claim.campaign_id, "session_id": session.pk}
    if isinstance(error, AccountRestricted) and not error.sent:
        logger.error(
            "WhatsApp restricts %s (%s): the message to %s was not sent and goes back to "
            "its campaign",
            session.name,
            error.reason,
            claim.phone_e164,
            extra=extra,
        )
        return
    if isinstance(error, SendOutcomeUnknown):
        logger.error(
            "Send to %s has an unknown outcome (%s): an operator must %s",
            claim.phone_e164,
            error.reason,
            UNKNOWN_ADVICE,
            extra=extra,
        )
        return
    logger.warning(
        "Send to %s failed%s: %s",
        claim.phone_e164,
        "" if final else " (will retry)",
        error.reason,
        extra=extra,
    )


# Outcomes the auto-pause weighs, and the time each message reached its outcome.
_OUTCOME_STATUSES = (*SENT_STATUSES, MessageStatus.FAILED, MessageStatus.UNKNOWN)
_OUTCOME_AT = Coalesce("sent_at", "failed_at", "updated_at")


def _auto_pause_if_failing(campaign_id: int | None) -> None:
    """Pause the campaign when too many of its latest send outcomes went wrong.

    Delivered and read messages count as the sends they are, in the order they were sent:
    acks arriving later do not push failures out of the window.
    """
    if campaign_id is None:
        return
    window = settings.ENGINE_AUTO_PAUSE_WINDOW
    recent = list(
        Message.objects.filter(campaign_id=campaign_id, status__in=_OUTCOME_STATUSES)
        .order_by(_OUTCOME_AT.desc())
        .values_list("status", flat=True)[:window]
    )
    failed = sum(status not in SENT_STATUSES for status in recent)
    if len(recent) < window // 2 or failed / len(recent) < settings.ENGINE_AUTO_PAUSE_ERROR_RATE:
        return
    paused = Campaign.objects.filter(pk=campaign_id, status=CampaignStatus.RUNNING).update(
        status=CampaignStatus.PAUSED,
        status_detail=(
            f"Paused automatically: {failed} of the last {len(recent)} sends failed or have "
            "an unknown outcome"
        ),
        updated_at=timezone.now(),
    )
    if paused:
        campaign_events_emit(type=EventType.CAMPAIGN_PAUSED, campaign_ids=[campaign_id])
        audit_record_add(
            kind=AuditKind.CAMPAIGN,
            action=CampaignStatus.PAUSED,
            campaign_id=campaign_id,
            detail={"from": CampaignStatus.RUNNING, "why": "too many failed sends"},
        )
        logger.error(
            "Campaign %s paused automatically: %d of the last %d sends went wrong",
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
    # Contact windows and caps are decided on the clock tests can move; so is the time a
    # claim records, which the caps count. Without running campaigns, or with every zone
    # group waiting for its window, the claim still finds the account's direct messages.
    now = clock.now()
    scope.refresh(session, now)
    known_only = pacer.new_chats_spent(now)
    with transaction.atomic():
        claim = claim_next(session, scope.windows, now, after=scope.after, known_only=known_only)
        if claim is None and scope.after:
            claim = claim_next(session, scope.windows, now, known_only=known_only)
        wa_message_id = None if claim is None else _begin_sending(claim, session, driver)
    if claim is None or wa_message_id is None:
        # Nothing to do, or its campaign stopped: look at the running campaigns afresh.
        scope.forget()
        if claim is None:
            # Past its new-chat budget an account finds little, and each look walks every
            # pending message of its campaigns: it looks less often.
            return KNOWN_ONLY_IDLE_SECONDS if known_only else IDLE_SECONDS
        return 0.0
    if claim.campaign_id is not None:
        scope.after = claim.pk
    return _send(claim, session, driver, pacer, wa_message_id)
