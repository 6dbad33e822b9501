import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from campaigns import realtime
from campaigns.models import MessageStatus
from tests.factories import CampaignFactory, MessageFactory


def _listen(group):
    layer = get_channel_layer()
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return layer, channel


def _receive(layer, channel, timeout=5):
    async def receive():
        import asyncio

        return await asyncio.wait_for(layer.receive(channel), timeout)

    return async_to_sync(receive)()


def _drain(layer, channel, seconds):
    async def drain():
        import asyncio

        events = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                events.append(await asyncio.wait_for(layer.receive(channel), left))
            except TimeoutError:
                break
        return events

    return async_to_sync(drain)()


@pytest.mark.django_db(transaction=True)
def test_progress_reaches_the_campaign_group_after_commit():
    campaign = CampaignFactory()
    MessageFactory(campaign=campaign, status=MessageStatus.SENT)
    MessageFactory(campaign=campaign)
    layer, channel = _listen(realtime.campaign_group(campaign.pk))
    realtime.campaign_progress_changed(campaign.pk)  # autocommit: pushed at once
    event = _receive(layer, channel)
    assert event["type"] == "campaign.progress"
    assert event["counts"] == {"sent": 1, "pending": 1}
    assert event["percent"] == 50


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_changes_is_coalesced_to_a_leading_and_a_trailing_push(celery_worker):
    campaign = CampaignFactory()
    message = MessageFactory(campaign=campaign)
    layer, channel = _listen(realtime.campaign_group(campaign.pk))
    for _ in range(50):
        realtime.campaign_progress_changed(campaign.pk)
    type(message).objects.filter(pk=message.pk).update(status=MessageStatus.SENT)
    realtime.campaign_progress_changed(campaign.pk)
    events = _drain(layer, channel, seconds=2)
    assert 1 <= len(events) <= 3
    # The last push tells the final state, even though it came in the throttled window.
    assert events[-1]["counts"] == {"sent": 1}


@pytest.mark.django_db(transaction=True)
def test_a_push_is_sent_only_if_the_transaction_commits():
    from django.db import transaction

    campaign = CampaignFactory()
    layer, channel = _listen(realtime.campaign_group(campaign.pk))

    def change_then_fail():
        with transaction.atomic():
            realtime.campaign_progress_changed(campaign.pk)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert _drain(layer, channel, seconds=0.5) == []
