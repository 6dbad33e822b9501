import datetime

import pytest
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from campaigns.sweep import (
    campaigns_complete_finished,
    campaigns_explain_waiting,
    engine_sweep,
    messages_mark_orphans_unknown,
)
from sessions_app.models import SessionStatus
from tests.factories import (
    CampaignFactory,
    MessageFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
)

pytestmark = pytest.mark.django_db

PAST = timezone.now() - datetime.timedelta(minutes=5)
FUTURE = timezone.now() + datetime.timedelta(minutes=5)


def test_expired_claims_go_back_to_pending_with_one_more_attempt():
    session = WhatsAppSessionFactory()
    expired = MessageFactory(
        status=MessageStatus.CLAIMED, lease_until=PAST, session=session, attempts=1
    )
    live = MessageFactory(status=MessageStatus.CLAIMED, lease_until=FUTURE, session=session)
    result = engine_sweep()
    expired.refresh_from_db()
    live.refresh_from_db()
    assert result.released == 1
    assert (expired.status, expired.attempts, expired.session) == (MessageStatus.PENDING, 2, None)
    assert live.status == MessageStatus.CLAIMED


def test_orphaned_sends_become_unknown_and_are_never_resent():
    orphan = MessageFactory(status=MessageStatus.SENDING, lease_until=PAST)
    in_flight = MessageFactory(status=MessageStatus.SENDING, lease_until=FUTURE)
    assert engine_sweep().unknown == 1
    orphan.refresh_from_db()
    in_flight.refresh_from_db()
    assert orphan.status == MessageStatus.UNKNOWN
    assert "mark sent or resend" in orphan.last_error
    assert in_flight.status == MessageStatus.SENDING


def test_a_restarting_host_orphans_every_send_of_its_account():
    session = WhatsAppSessionFactory()
    mine = MessageFactory(status=MessageStatus.SENDING, lease_until=FUTURE, session=session)
    other = MessageFactory(status=MessageStatus.SENDING, lease_until=FUTURE)
    assert messages_mark_orphans_unknown(session_id=session.pk) == 1
    mine.refresh_from_db()
    other.refresh_from_db()
    assert mine.status == MessageStatus.UNKNOWN
    assert other.status == MessageStatus.SENDING


def test_campaigns_with_nothing_left_complete():
    done = CampaignFactory(status=CampaignStatus.RUNNING)
    MessageFactory(campaign=done, status=MessageStatus.SENT)
    MessageFactory(campaign=done, status=MessageStatus.UNKNOWN)
    busy = []
    for status in (MessageStatus.PENDING, MessageStatus.CLAIMED, MessageStatus.SENDING):
        campaign = CampaignFactory(status=CampaignStatus.RUNNING)
        MessageFactory(campaign=campaign, status=MessageStatus.READ)
        MessageFactory(campaign=campaign, status=status, lease_until=FUTURE)
        busy.append(campaign)
    paused = CampaignFactory(status=CampaignStatus.PAUSED)
    assert campaigns_complete_finished() == 1
    done.refresh_from_db()
    paused.refresh_from_db()
    assert done.status == CampaignStatus.COMPLETED
    assert done.finished_at is not None
    still_running = Campaign.objects.filter(pk__in=[campaign.pk for campaign in busy])
    assert set(still_running.values_list("status", flat=True)) == {CampaignStatus.RUNNING}
    assert paused.status == CampaignStatus.PAUSED


def test_a_campaign_without_connected_accounts_says_it_is_waiting():
    member = PoolMemberFactory(session=WhatsAppSessionFactory(status=SessionStatus.LOGGED_OUT))
    campaign = CampaignFactory(pool=member.pool, status=CampaignStatus.RUNNING)
    campaigns_explain_waiting()
    campaign.refresh_from_db()
    assert campaign.status_detail == "Waiting: no account of the pool is connected"
    type(member.session).objects.update(status=SessionStatus.CONNECTED)
    campaigns_explain_waiting()
    campaign.refresh_from_db()
    assert campaign.status_detail == ""
    assert Message.objects.count() == 0
