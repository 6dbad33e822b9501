import pytest

from campaigns.models import CampaignStatus, MessageStatus
from campaigns.services import (
    CampaignTransitionError,
    campaign_cancel,
    campaign_pause,
    campaign_resume,
)
from tests.factories import CampaignFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_pause_then_resume_a_running_campaign():
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    assert campaign_pause(campaign=campaign).status == CampaignStatus.PAUSED
    assert campaign_resume(campaign=campaign).status == CampaignStatus.RUNNING


def test_a_second_pause_is_refused_with_a_reason():
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    campaign_pause(campaign=campaign)
    with pytest.raises(CampaignTransitionError, match="is paused and cannot become paused"):
        campaign_pause(campaign=campaign)


def test_a_stale_copy_cannot_resume_a_cancelled_campaign():
    campaign = CampaignFactory(status=CampaignStatus.PAUSED)
    stale = type(campaign).objects.get(pk=campaign.pk)
    campaign_cancel(campaign=campaign)
    with pytest.raises(CampaignTransitionError):
        campaign_resume(campaign=stale)
    stale.refresh_from_db()
    assert stale.status == CampaignStatus.CANCELLED


def test_cancel_skips_unsent_messages_and_keeps_sent_ones():
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    pending = MessageFactory(campaign=campaign)
    sent = MessageFactory(campaign=campaign, status=MessageStatus.SENT)
    campaign = campaign_cancel(campaign=campaign)
    pending.refresh_from_db()
    sent.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert campaign.finished_at is not None
    assert pending.status == MessageStatus.SKIPPED
    assert sent.status == MessageStatus.SENT


def test_a_completed_campaign_cannot_be_cancelled():
    campaign = CampaignFactory(status=CampaignStatus.COMPLETED)
    with pytest.raises(CampaignTransitionError):
        campaign_cancel(campaign=campaign)
