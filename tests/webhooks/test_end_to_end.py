"""A whole sandbox campaign through a real worker: each message's events reach a receiver
exactly as the database records the message (none missing; repeats only as retries)."""

from collections import defaultdict

import pytest

from campaigns.models import Message, MessageStatus
from campaigns.services import campaign_start
from sessions_app.models import SessionStatus, WhatsAppSession
from sessions_app.services import session_connect, session_simulate_scan
from tests.conftest import wait_until
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    PoolFactory,
    PoolMemberFactory,
    UserFactory,
    WhatsAppSessionFactory,
)
from webhooks.models import DeliveryStatus, EventType, WebhookDelivery, WebhookEvent
from webhooks.services import endpoint_create
from webhooks.tasks import webhooks_deliver

pytestmark = pytest.mark.django_db(transaction=True)

MESSAGE_EVENTS = [
    EventType.MESSAGE_SENT,
    EventType.MESSAGE_DELIVERED,
    EventType.MESSAGE_READ,
    EventType.MESSAGE_FAILED,
    EventType.MESSAGE_REPLY,
]


def _linked():
    session = WhatsAppSessionFactory(min_delay_seconds=0, max_delay_seconds=0)
    session_connect(session=session)
    wait_until(lambda: WhatsAppSession.objects.get(pk=session.pk).qr_payload, message="no QR")
    session_simulate_scan(session=WhatsAppSession.objects.get(pk=session.pk))
    wait_until(
        lambda: WhatsAppSession.objects.get(pk=session.pk).status == SessionStatus.CONNECTED,
        message="the account never linked",
    )
    return session


def _expected(message):
    types = set()
    if message.sent_at:
        types.add("message.sent")
    if message.delivered_at:
        types.add("message.delivered")
    if message.read_at:
        types.add("message.read")
    if message.status == MessageStatus.FAILED:
        types.add("message.failed")
    if message.replies.exists():
        types.add("message.reply")
    return types


def _drained():
    # Stands in for beat: due retries are picked up by the next run of the task.
    webhooks_deliver.delay()
    return (
        not WebhookEvent.objects.exists()
        and not WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).exists()
    )


def test_a_sandbox_campaign_delivers_each_message_event_once(celery_worker, receiver):
    endpoint = endpoint_create(
        url=receiver.url, event_types=MESSAGE_EVENTS, batch_size=10, by=UserFactory()
    )
    receiver.secret = endpoint.secret
    receiver.answers = [500]  # the first request fails: its events come again, same id
    account = _linked()
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=account)
    DebtorFactory.create_batch(30)
    campaign = campaign_start(campaign=CampaignFactory(pool=pool))
    messages = Message.objects.filter(campaign=campaign)
    wait_until(
        lambda: (
            messages.filter(status=MessageStatus.READ).count()
            + messages.filter(status__in=[MessageStatus.FAILED, MessageStatus.SKIPPED]).count()
            == 30
        ),
        timeout=90,
        message="the campaign's messages were not all read",
    )
    WhatsAppSession.objects.update(should_run=False)
    wait_until(
        lambda: not WhatsAppSession.objects.exclude(host_token="").exists(),
        message="the session host did not stop",
    )
    wait_until(_drained, timeout=60, interval=1.0, message="the outbox did not drain")

    received = defaultdict(set)
    ids_of = defaultdict(set)
    for webhook_id, event in receiver.events():
        key = (event["data"]["message_id"], event["type"])
        received[event["data"]["message_id"]].add(event["type"])
        ids_of[key].add(webhook_id)
    assert receiver.bad_signatures == 0
    assert {m.pk: _expected(m) for m in messages} == {m.pk: received[m.pk] for m in messages}
    # Every event arrived in one request (several tries of that request at most).
    assert all(len(ids) == 1 for ids in ids_of.values())
    assert len(receiver.tries) > len(set(receiver.tries))  # the failed request was retried
