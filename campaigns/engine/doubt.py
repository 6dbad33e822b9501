"""Messages in doubt (`unknown`) settled by the WhatsApp id they were committed with.

A host that starts after a crash asks WhatsApp's own store about its account's `unknown`
messages: one found there was sent (with its ack); one not found stays `unknown`, with
what the lookup showed, for an operator to decide.
"""

import logging

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from campaigns.models import Message, MessageStatus
from debtors.models import Debtor, DebtorStatus
from sessions_app.drivers.base import AckStatus, WhatsAppDriver
from sessions_app.models import WhatsAppSession
from whatsmassive import realtime

logger = logging.getLogger(__name__)

# How many messages one host start looks up; the rest wait for the next start.
LOOKUP_LIMIT = 500
_SETTLED = {
    AckStatus.SENT: (MessageStatus.SENT, DebtorStatus.SENT),
    AckStatus.DELIVERED: (MessageStatus.DELIVERED, DebtorStatus.DELIVERED),
    AckStatus.READ: (MessageStatus.READ, DebtorStatus.READ),
}


def messages_settle_unknown(*, session: WhatsAppSession, driver: WhatsAppDriver) -> int:
    """Look the account's `unknown` messages up by id; returns how many were found sent."""
    doubtful = list(
        Message.objects.filter(session=session, status=MessageStatus.UNKNOWN)
        .exclude(wa_message_id="")
        .order_by("pk")
        .values_list("pk", "wa_message_id", "campaign_id", "debtor_id")[:LOOKUP_LIMIT]
    )
    settled = 0
    campaigns: set[int] = set()
    for pk, wa_message_id, campaign_id, debtor_id in doubtful:
        lookup = driver.find_sent(wa_message_id=wa_message_id)
        if lookup is None:
            return settled  # this client cannot look messages up
        now = timezone.now()
        unknown = Message.objects.filter(pk=pk, status=MessageStatus.UNKNOWN)
        if lookup.status is None:
            unknown.update(
                last_error=(
                    f"Not found by its id when the account reconnected at {now:%Y-%m-%d %H:%M}"
                    f" ({lookup.evidence}): check the phone, then mark sent or resend"
                )[:500],
                updated_at=now,
            )
            continue
        status, debtor_status = _SETTLED[lookup.status]
        fields: dict[str, object] = {
            "status": status,
            "sent_at": now,
            "last_error": "",
            "updated_at": now,
        }
        if status in (MessageStatus.DELIVERED, MessageStatus.READ):
            fields["delivered_at"] = now
        if status == MessageStatus.READ:
            fields["read_at"] = now
        with transaction.atomic():
            if unknown.update(**fields) != 1:
                continue
            Debtor.objects.filter(pk=debtor_id).exclude(status=DebtorStatus.REPLIED).update(
                status=debtor_status, updated_at=now
            )
            WhatsAppSession.objects.filter(pk=session.pk).update(sent_count=F("sent_count") + 1)
        settled += 1
        campaigns.add(campaign_id)
    if settled:
        logger.info(
            "%d message(s) in doubt found sent by their WhatsApp id",
            settled,
            extra={"session_id": session.pk},
        )
    realtime.campaigns_progress_changed(campaigns)
    return settled
