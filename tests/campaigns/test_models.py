import pytest
from django.db import IntegrityError
from django.utils import timezone

from campaigns.models import Campaign, Message, MessageStatus
from tests.factories import CampaignFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_a_second_message_for_the_same_debtor_in_a_campaign_is_rejected():
    message = MessageFactory()
    with pytest.raises(IntegrityError):
        MessageFactory(campaign=message.campaign, debtor=message.debtor)


def test_the_same_debtor_may_get_one_message_per_campaign():
    message = MessageFactory()
    other = MessageFactory(debtor=message.debtor)
    assert other.campaign != message.campaign


def test_an_unknown_message_status_is_rejected_by_the_database():
    message = MessageFactory()
    with pytest.raises(IntegrityError):
        Message.objects.filter(pk=message.pk).update(status="delivered-twice")


def test_a_claim_without_a_lease_is_rejected_by_the_database():
    message = MessageFactory()
    with pytest.raises(IntegrityError):
        Message.objects.filter(pk=message.pk).update(status=MessageStatus.CLAIMED)


def test_a_claim_with_a_lease_is_accepted():
    message = MessageFactory()
    Message.objects.filter(pk=message.pk).update(
        status=MessageStatus.CLAIMED, lease_until=timezone.now()
    )
    message.refresh_from_db()
    assert message.status == MessageStatus.CLAIMED


def test_an_unknown_campaign_status_is_rejected_by_the_database():
    campaign = CampaignFactory()
    with pytest.raises(IntegrityError):
        Campaign.objects.filter(pk=campaign.pk).update(status="finished")


def test_the_database_refuses_a_template_over_the_limit():
    campaign = CampaignFactory()
    with pytest.raises(IntegrityError):
        Campaign.objects.filter(pk=campaign.pk).update(template="x" * 4001)
