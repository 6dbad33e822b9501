import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from campaigns import realtime
from campaigns.models import Message, MessageStatus
from sessions_app.models import SessionStatus
from tests.factories import CampaignFactory, WhatsAppSessionFactory, running_campaign


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
    campaign = running_campaign(pending=1, sent=1)
    layer, channel = _listen(realtime.campaign_group(campaign.pk))
    dashboard_layer, dashboard = _listen(realtime.DASHBOARD_GROUP)
    realtime.campaign_progress_changed(campaign.pk)  # autocommit: pushed at once

    event = _receive(layer, channel)
    assert event["type"] == "fragment"
    assert f'id="campaign-{campaign.pk}-progress"' in event["html"]
    assert "50%" in event["html"]
    bar = _receive(dashboard_layer, dashboard)["html"]
    assert f'id="campaign-{campaign.pk}-bar"' in bar
    assert "1 / 2" in bar


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_changes_is_coalesced_to_a_leading_and_a_trailing_push(celery_worker):
    campaign = running_campaign(pending=1)
    layer, channel = _listen(realtime.campaign_group(campaign.pk))
    for _ in range(50):
        realtime.campaign_progress_changed(campaign.pk)
    Message.objects.filter(campaign=campaign).update(status=MessageStatus.SENT)
    realtime.campaign_progress_changed(campaign.pk)
    events = _drain(layer, channel, seconds=2)
    assert 1 <= len(events) <= 3
    # The last push tells the final state, even though it came in the throttled window.
    assert "100%" in events[-1]["html"]


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


@pytest.mark.django_db(transaction=True)
def test_an_account_change_reaches_its_panel_the_account_list_and_the_dashboard():
    account = WhatsAppSessionFactory(status=SessionStatus.WAITING_QR, qr_payload="2@abc")
    panel_layer, panel = _listen(realtime.session_group(account.pk))
    list_layer, rows = _listen(realtime.SESSIONS_GROUP)
    dashboard_layer, dashboard = _listen(realtime.DASHBOARD_GROUP)

    realtime.session_changed(account.pk)

    assert f'id="session-{account.pk}-live"' in _receive(panel_layer, panel)["html"]
    assert f'id="session-{account.pk}-row"' in _receive(list_layer, rows)["html"]
    assert 'id="dashboard-accounts"' in _receive(dashboard_layer, dashboard)["html"]
