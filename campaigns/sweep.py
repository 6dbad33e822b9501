"""The beat sweep: what a crashed or stalled host leaves behind is put right here."""

import logging
from dataclasses import dataclass

from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from campaigns.engine.sending import UNKNOWN_ADVICE
from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from sessions_app.models import PoolMember, SessionStatus
from webhooks.models import EventType
from webhooks.services import campaign_events_emit, message_events_emit
from whatsmassive import realtime
from whatsmassive.models import AuditKind
from whatsmassive.services import audit_record_build, audit_records_add

logger = logging.getLogger(__name__)

IN_FLIGHT_STATUSES = [MessageStatus.CLAIMED, MessageStatus.SENDING]


@dataclass(frozen=True)
class SweepResult:
    released: int
    unknown: int
    completed: int


def _left_behind(status: str, *, session_id: int | None) -> QuerySet[Message]:
    """Messages in `status` past their lease, or all of one account's (its host restarts)."""
    messages = Message.objects.filter(status=status)
    if session_id is not None:
        return messages.filter(session_id=session_id)
    return messages.filter(lease_until__lt=timezone.now())


@transaction.atomic
def messages_release_expired_claims(*, session_id: int | None = None) -> int:
    """claimed past its lease, never handed to WhatsApp: back to pending (attempts+1).

    With `session_id`, every claim of that account is released (its new host is starting).
    """
    now = timezone.now()
    expired = _left_behind(MessageStatus.CLAIMED, session_id=session_id)
    campaigns = list(expired.values_list("campaign_id", flat=True))
    released = expired.update(
        status=MessageStatus.PENDING,
        session=None,
        lease_until=None,
        attempts=F("attempts") + 1,
        updated_at=now,
    )
    realtime.campaigns_progress_changed(campaigns)
    return released


@transaction.atomic
def messages_mark_orphans_unknown(*, session_id: int | None = None) -> int:
    """`sending` whose host died: WhatsApp may or may not have it. Never resent by itself.

    With `session_id`, every `sending` message of that account is orphaned (its new host
    is starting, so the old one is gone); otherwise only those past their send timeout.
    """
    now = timezone.now()
    orphans = _left_behind(MessageStatus.SENDING, session_id=session_id)
    left = list(orphans.values_list("pk", "campaign_id"))
    campaigns = [campaign_id for _, campaign_id in left]
    reason = f"The sender stopped mid-send: {UNKNOWN_ADVICE}"
    marked = orphans.update(
        status=MessageStatus.UNKNOWN,
        lease_until=None,
        last_error=reason,
        updated_at=now,
    )
    if marked:
        now_unknown = list(
            Message.objects.filter(
                pk__in=[pk for pk, _ in left], status=MessageStatus.UNKNOWN, updated_at=now
            ).values_list(
                "pk", "campaign_id", "session_id", "debtor__phone_e164", "wa_message_id", "body"
            )
        )
        message_events_emit((EventType.MESSAGE_UNKNOWN, row[0]) for row in now_unknown)
        # The attempt's outcome was never recorded by its host: this is it.
        audit_records_add(
            [
                audit_record_build(
                    kind=AuditKind.SEND,
                    action=MessageStatus.UNKNOWN,
                    at=now,
                    message_id=pk,
                    campaign_id=campaign_id,
                    session_id=session,
                    phone_e164=phone,
                    wa_message_id=wa_message_id,
                    text=body,
                    detail={"error": reason},
                )
                for pk, campaign_id, session, phone, wa_message_id, body in now_unknown
            ]
        )
        logger.error(
            "%d message(s) left mid-send are now unknown: an operator must check them",
            marked,
            extra={"session_id": session_id},
        )
    realtime.campaigns_progress_changed(campaigns)
    return marked


def _last_message(left: Q, order: str) -> Subquery:
    """A campaign's last message that `left` matches, by `order` (the key of its index)."""
    messages = Message.objects.filter(left, campaign=OuterRef("pk")).order_by(f"-{order}")
    return Subquery(messages.values("id")[:1])


@transaction.atomic
def campaigns_complete_finished() -> int:
    """Running campaigns with nothing left to send become completed.

    Asked as "the last pending message by id, the last in-flight one by lease", each one
    step into its partial index from the end where the live entries are: a bare "is any
    message open?" may be planned as a scan of the table from its start, through every
    message the campaign has already sent, and the indexes' other end holds a dead entry
    for each of those until VACUUM.
    """
    finished = (
        Campaign.objects.filter(status=CampaignStatus.RUNNING)
        .alias(
            pending=_last_message(Q(status=MessageStatus.PENDING), "id"),
            in_flight=_last_message(
                Q(status__in=IN_FLIGHT_STATUSES, lease_until__isnull=False), "lease_until"
            ),
        )
        .filter(pending=None, in_flight=None)
    )
    ids = list(finished.values_list("id", flat=True))
    now = timezone.now()
    completed = Campaign.objects.filter(pk__in=ids, status=CampaignStatus.RUNNING).update(
        status=CampaignStatus.COMPLETED,
        finished_at=now,
        status_detail="",
        updated_at=timezone.now(),
    )
    done = list(Campaign.objects.filter(pk__in=ids, finished_at=now).values_list("pk", flat=True))
    campaign_events_emit(type=EventType.CAMPAIGN_COMPLETED, campaign_ids=done)
    audit_records_add(
        [
            audit_record_build(
                kind=AuditKind.CAMPAIGN,
                action=CampaignStatus.COMPLETED,
                at=now,
                campaign_id=campaign_id,
                detail={"from": CampaignStatus.RUNNING},
            )
            for campaign_id in done
        ]
    )
    for campaign_id in ids:
        logger.info("Campaign %s completed", campaign_id, extra={"campaign_id": campaign_id})
        realtime.campaign_progress_changed(campaign_id)
    return completed


@transaction.atomic
def campaigns_explain_waiting() -> None:
    """Say on running campaigns whose pool has no connected account why nothing moves."""
    connected = PoolMember.objects.filter(
        pool=OuterRef("pool"), enabled=True, session__status=SessionStatus.CONNECTED
    )
    running = Campaign.objects.filter(status=CampaignStatus.RUNNING)
    running.filter(Exists(connected)).exclude(status_detail="").update(status_detail="")
    running.exclude(Exists(connected)).update(
        status_detail="Waiting: no account of the pool is connected"
    )


def engine_sweep() -> SweepResult:
    result = SweepResult(
        released=messages_release_expired_claims(),
        unknown=messages_mark_orphans_unknown(),
        completed=campaigns_complete_finished(),
    )
    campaigns_explain_waiting()
    return result
