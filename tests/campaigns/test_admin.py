import pytest
from django.urls import reverse

from campaigns.models import Campaign, CampaignStatus, ContactPolicy, Message, MessageStatus
from tests.factories import CampaignFactory, MessageFactory, PoolFactory

pytestmark = pytest.mark.django_db


def test_start_action_reports_why_a_campaign_cannot_start(client, staff_user):
    campaign = CampaignFactory()
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "start", "_selected_action": [campaign.pk]},
        follow=True,
    )
    assert "has no enabled account" in response.content.decode()
    assert Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.DRAFT


def test_unknown_messages_can_be_marked_sent_or_resent_from_the_admin(client, staff_user):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    checked = MessageFactory(campaign=campaign, status=MessageStatus.UNKNOWN)
    missing = MessageFactory(campaign=campaign, status=MessageStatus.UNKNOWN)
    already_sent = MessageFactory(campaign=campaign, status=MessageStatus.SENT)
    client.force_login(staff_user)
    url = reverse("admin:campaigns_message_changelist")
    client.post(url, {"action": "mark_sent", "_selected_action": [checked.pk]})
    response = client.post(
        url, {"action": "resend", "_selected_action": [missing.pk, already_sent.pk]}, follow=True
    )
    assert Message.objects.get(pk=checked.pk).status == MessageStatus.SENT
    assert Message.objects.get(pk=missing.pk).status == MessageStatus.PENDING
    assert Message.objects.get(pk=already_sent.pk).status == MessageStatus.SENT
    assert "Only a message in state “unknown” can be resolved." in response.content.decode()


def test_the_admin_refuses_a_template_over_the_limit_and_saves_nothing(client, staff_user):
    pool = PoolFactory()
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:campaigns_campaign_add"),
        {"name": "Huge", "template": "x" * 120_000, "pool": pool.pk, "audience": "{}"},
    )
    assert response.status_code == 200
    assert "at most 4000 characters" in response.content.decode().replace(",", "")
    assert not Campaign.objects.filter(name="Huge").exists()


def test_the_policy_admin_refuses_overlapping_windows(client, staff_user):
    client.force_login(staff_user)
    windows = '[[["08:00", "12:00"], ["11:00", "13:00"]], [], [], [], [], [], []]'
    response = client.post(
        "/admin/campaigns/contactpolicy/add/",
        {"name": "Overlap", "windows": windows, "opt_out_mode": "not_required"},
    )
    assert response.status_code == 200
    assert "overlap" in response.content.decode()
    assert not ContactPolicy.objects.filter(name="Overlap").exists()
