"""Receipts and replies: sent -> delivered -> read, and what debtors answer."""

import logging

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from campaigns.models import ContactPolicy, Message, MessageKind, MessageStatus
from debtors.models import CLOSED_STATUSES, Debtor, DebtorStatus, OptOutSource
from debtors.services import debtor_opt_out
from debtors.stop_words import stop_matcher
from inbox.services import direct_message_queue, incoming_messages_record
from sessions_app.drivers.base import Ack, AckStatus, IncomingMessage
from sessions_app.models import AccountChat, WhatsAppSession
from webhooks.models import EventType
from webhooks.services import message_events_emit
from whatsmassive import realtime

logger = logging.getLogger(__name__)

_ACK_ORDER: dict[str, int] = {
    # A receipt for a message in doubt proves it went out: it moves on like a sent one.
    MessageStatus.UNKNOWN: -1,
    MessageStatus.SENT: 0,
    MessageStatus.DELIVERED: 1,
    MessageStatus.READ: 2,
}
_ACK_EVENTS: dict[str, str] = {
    MessageStatus.DELIVERED: EventType.MESSAGE_DELIVERED,
    MessageStatus.READ: EventType.MESSAGE_READ,
}
_ACK_DEBTOR_STATUS: dict[str, str] = {
    MessageStatus.DELIVERED: DebtorStatus.DELIVERED,
    MessageStatus.READ: DebtorStatus.READ,
}


@transaction.atomic
def messages_apply_acks(*, session: WhatsAppSession, acks: list[Ack]) -> int:
    """Move messages forward on delivery/read receipts; a few statements per batch.

    A receipt never moves a message back (a late "delivered" leaves a read message read);
    one for an `unknown` message settles it (it did go out). Returns how many steps were
    taken (sent -> delivered -> read counts two).
    """
    now = timezone.now()
    wanted: dict[str, set[str]] = {}
    for ack in acks:
        if ack.status in (AckStatus.DELIVERED, AckStatus.READ):
            wanted.setdefault(ack.wa_message_id, set()).add(ack.status.value)
    # Found through the WhatsApp id index (its condition spelled out, so that any number of
    # ids can use it), the account checked here: with the account in the query, a planner
    # on stale statistics may walk every message the account has sent.
    found = (
        Message.objects.filter(
            wa_message_id__in=list(wanted),
            status__in=[MessageStatus.UNKNOWN, MessageStatus.SENT, MessageStatus.DELIVERED],
        )
        .exclude(wa_message_id="")
        .values_list(
            "pk", "wa_message_id", "status", "campaign_id", "debtor_id", "session_id", "kind"
        )
    )
    rows = [(*row[:5], row[6]) for row in found if row[5] == session.pk]
    # One UPDATE per kind of step, each still conditional on the status it expects.
    steps: dict[tuple[str, str, bool], list[int]] = {}
    debtors: dict[str, list[int]] = {}
    campaigns: set[int] = set()
    events: list[tuple[str, int]] = []
    moved = 0
    for pk, wa_message_id, status, campaign_id, debtor_id, kind in rows:
        statuses = wanted[wa_message_id]
        to: str = MessageStatus.READ if AckStatus.READ in statuses else MessageStatus.DELIVERED
        if _ACK_ORDER[to] <= _ACK_ORDER[status]:
            continue
        # "delivered" and "read" in one batch take a sent message through both steps.
        through_delivered = (
            to == MessageStatus.READ
            and status in (MessageStatus.SENT, MessageStatus.UNKNOWN)
            and AckStatus.DELIVERED in statuses
        )
        steps.setdefault((status, to, through_delivered), []).append(pk)
        if through_delivered:
            events.append((EventType.MESSAGE_DELIVERED, pk))
        events.append((_ACK_EVENTS[to], pk))
        if kind == MessageKind.CAMPAIGN:
            # An answer or a confirmation being read says nothing of the collection.
            debtors.setdefault(to, []).append(debtor_id)
        campaigns.add(campaign_id)
        moved += 2 if through_delivered else 1
    for (status, to, through_delivered), pks in steps.items():
        fields: dict[str, object] = {"status": to, "updated_at": now}
        if to == MessageStatus.DELIVERED or through_delivered:
            fields["delivered_at"] = now
        if to == MessageStatus.READ:
            fields["read_at"] = now
        if status == MessageStatus.UNKNOWN:
            # When it left is not known better than this; the doubt is over.
            fields.update(sent_at=now, last_error="")
            logger.info(
                "%d message(s) in doubt settled by WhatsApp's receipts: they were sent",
                len(pks),
                extra={"session_id": session.pk},
            )
        Message.objects.filter(pk__in=pks, status=status).update(**fields)
    # The debtor follows its latest message, unless it replied (replies outrank receipts)
    # or an operator closed it (paid, disputed, wrong number).
    for to, ids in sorted(debtors.items(), key=lambda item: _ACK_ORDER[item[0]]):
        Debtor.objects.filter(pk__in=ids).exclude(
            status__in=[DebtorStatus.REPLIED, *CLOSED_STATUSES]
        ).update(status=_ACK_DEBTOR_STATUS[to], updated_at=now)
    message_events_emit(events)
    realtime.campaigns_progress_changed(campaigns)
    return moved


@transaction.atomic
def messages_apply_incoming(*, session: WhatsAppSession, incoming: list[IncomingMessage]) -> None:
    """Record replies in the inbox; a STOP opts the debtor out and skips what was not sent yet.

    A message WhatsApp reports again (same id, same account) is recorded and acted on once.
    """
    debtors = _debtors_of(incoming)
    if not debtors:
        return
    # A reply answers the debtor's latest message sent from this account. Looked up by
    # debtor alone and picked here: a debtor has a message per campaign, while with the
    # account or the send time in the query PostgreSQL may walk every message sent so far.
    sent = [
        (sent_at, pk, debtor_id)
        for debtor_id, pk, session_id, sent_at in Message.objects.filter(
            debtor_id__in=debtors.values()
        )
        .order_by()
        .values_list("debtor_id", "pk", "session_id", "sent_at")
        if session_id == session.pk and sent_at is not None
    ]
    latest = {debtor_id: pk for _, pk, debtor_id in sorted(sent)}
    fresh = incoming_messages_record(
        session=session,
        incoming=[(reply, debtor, latest.get(debtor)) for reply, debtor in debtors.items()],
    )
    answered = {latest[debtor_id] for reply, debtor_id in fresh if debtor_id in latest}
    _chats_open(session=session, debtor_ids={debtor_id for _, debtor_id in fresh})
    replied: set[int] = set()
    stop = stop_matcher()
    for reply, debtor_id in fresh:
        if stop.matches(reply.text):
            logger.info("%s replied STOP: %s", reply.phone_e164, reply.text[:200])
            opted_out = debtor_opt_out(
                debtors=Debtor.objects.filter(pk=debtor_id),
                at=reply.received_at,
                source=OptOutSource.REPLY,
                reason=f"Replied: {reply.text}"[:500],
            )
            if opted_out:
                _opt_out_confirm(
                    session=session, debtor_id=debtor_id, answered=latest.get(debtor_id)
                )
        else:
            replied.add(debtor_id)
            logger.info("Reply from %s: %s", reply.phone_e164, reply.text[:200])
    message_events_emit((EventType.MESSAGE_REPLY, message_id) for message_id in sorted(answered))
    if replied:
        Debtor.objects.filter(pk__in=replied).exclude(status__in=CLOSED_STATUSES).update(
            status=DebtorStatus.REPLIED, updated_at=timezone.now()
        )


def _opt_out_confirmation(answered: int | None) -> str:
    """The confirmation text of the policy of the campaign the debtor answered; the
    default policy's when the reply answers no campaign's message (or one without a policy)."""
    if answered is not None:
        policy_id, text = (
            Message.objects.filter(pk=answered)
            .values_list("campaign__policy_id", "campaign__policy__opt_out_confirmation")
            .get()
        )
        if policy_id is not None:
            return text or ""
    default = ContactPolicy.objects.filter(is_default=True).values_list(
        "opt_out_confirmation", flat=True
    )
    return default.first() or ""


def _opt_out_confirm(*, session: WhatsAppSession, debtor_id: int, answered: int | None) -> None:
    """Queue the policy's confirmation once per debtor, through the account it wrote to.

    Once ever: a debtor who is opted in again and replies STOP again is not told twice (the
    debtor row is locked by the opt-out, so two replies at once cannot both queue it).
    """
    text = _opt_out_confirmation(answered)
    if not text:
        return
    if Message.objects.filter(debtor_id=debtor_id, kind=MessageKind.CONFIRMATION).exists():
        return
    direct_message_queue(
        debtor=Debtor.objects.get(pk=debtor_id),
        session=session,
        text=text,
        kind=MessageKind.CONFIRMATION,
        by=None,
    )


def _chats_open(*, session: WhatsAppSession, debtor_ids: set[int]) -> None:
    """A debtor who writes opens a chat: messages to them spend no new-chat budget."""
    if not debtor_ids:
        return
    now = timezone.now()
    phones = Debtor.objects.filter(pk__in=debtor_ids).values_list("phone_e164", flat=True)
    AccountChat.objects.bulk_create(
        [
            AccountChat(session=session, phone_e164=phone, opened_at=now, outgoing=False)
            for phone in phones
        ],
        ignore_conflicts=True,
    )


def _debtors_of(incoming: list[IncomingMessage]) -> dict[IncomingMessage, int]:
    """Each reply's debtor, by number or by LID (WhatsApp may name a sender by either).

    A reply that gives both teaches the debtor its LID, so that later replies naming only
    the LID still find it.
    """
    phones = {reply.phone_e164 for reply in incoming if reply.phone_e164}
    lids = {reply.lid for reply in incoming if reply.lid}
    by_phone: dict[str, int] = {}
    by_lid: dict[str, int] = {}
    for pk, phone, lid in Debtor.objects.filter(
        Q(phone_e164__in=phones) | Q(whatsapp_lid__in=lids)
    ).values_list("pk", "phone_e164", "whatsapp_lid"):
        by_phone[phone] = pk
        if lid:
            by_lid[lid] = pk
    found: dict[IncomingMessage, int] = {}
    for reply in incoming:
        debtor_id = by_phone.get(reply.phone_e164) or by_lid.get(reply.lid)
        if debtor_id is None:
            continue
        found[reply] = debtor_id
        if reply.lid and by_lid.get(reply.lid) != debtor_id:
            Debtor.objects.filter(pk=debtor_id).update(whatsapp_lid=reply.lid)
            by_lid[reply.lid] = debtor_id
    return found
