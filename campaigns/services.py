import logging
from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser | None


class CampaignTransitionError(Exception):
    """The campaign is not in a state that allows the requested change."""


def _campaign_transition(
    *, campaign: Campaign, allowed_from: Iterable[str], to: str, by: User, **fields: object
) -> Campaign:
    # A conditional UPDATE: of two concurrent requests (double click, two tabs) exactly one
    # changes the row; the other sees 0 rows and is refused.
    changed = Campaign.objects.filter(pk=campaign.pk, status__in=list(allowed_from)).update(
        status=to, updated_at=timezone.now(), **fields
    )
    if changed != 1:
        campaign.refresh_from_db(fields=["status"])
        raise CampaignTransitionError(
            f"Campaign “{campaign.name}” is {campaign.get_status_display()} and cannot become {to}."
        )
    campaign.refresh_from_db()
    logger.info(
        "Campaign %s is now %s",
        campaign.name,
        to,
        extra={"campaign_id": campaign.pk, "by": getattr(by, "username", None)},
    )
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign, by: User = None) -> Campaign:
    """Stop new claims; messages already being sent finish normally."""
    return _campaign_transition(
        campaign=campaign,
        allowed_from=[CampaignStatus.RUNNING],
        to=CampaignStatus.PAUSED,
        by=by,
        status_detail="Paused by an operator",
    )


@transaction.atomic
def campaign_resume(*, campaign: Campaign, by: User = None) -> Campaign:
    return _campaign_transition(
        campaign=campaign,
        allowed_from=[CampaignStatus.PAUSED],
        to=CampaignStatus.RUNNING,
        by=by,
        status_detail="",
    )


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, by: User = None) -> Campaign:
    """Cancel the campaign and skip every message not yet handed to WhatsApp."""
    campaign = _campaign_transition(
        campaign=campaign,
        allowed_from=[CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED],
        to=CampaignStatus.CANCELLED,
        by=by,
        status_detail="Cancelled by an operator",
        finished_at=timezone.now(),
    )
    Message.objects.filter(
        campaign=campaign, status__in=[MessageStatus.PENDING, MessageStatus.CLAIMED]
    ).update(
        status=MessageStatus.SKIPPED,
        lease_until=None,
        last_error="Campaign cancelled",
        updated_at=timezone.now(),
    )
    return campaign
