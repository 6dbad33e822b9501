import datetime
import json
import threading

import pytest
from django.db import transaction
from django.utils import timezone

from campaigns.models import Message, MessageStatus
from campaigns.services import campaign_pause
from debtors.models import Debtor, OptOutSource
from debtors.services import debtor_opt_out
from tests.factories import (
    IncomingMessageFactory,
    MessageFactory,
    UserFactory,
    replied_message,
    running_campaign,
)
from tests.webhooks.conftest import InOtherConnection
from webhooks.delivery import (
    _claim_new,
    delivery_attempt,
    webhooks_deliver_pending,
    webhooks_prune,
)
from webhooks.models import (
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from webhooks.services import (
    endpoint_create,
    endpoint_delete,
    events_emit,
    message_events_emit,
    subscriptions,
)

pytestmark = pytest.mark.django_db


def _endpoint(*types, url="http://127.0.0.1:9/hooks", **fields):
    return endpoint_create(url=url, event_types=list(types), by=UserFactory(), **fields)


def test_without_a_subscriber_an_event_costs_no_query(settings, django_assert_num_queries):
    settings.WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS = 60
    _endpoint(EventType.CAMPAIGN_PAUSED)
    subscriptions.forget()
    subscriptions.types()
    with django_assert_num_queries(0):
        message_events_emit([(EventType.MESSAGE_SENT, 1)])
        events_emit(type=EventType.MESSAGE_READ, rows=[{"x": 1}])


def _delivered_payloads(endpoint):
    """The events taken out of the outbox into a delivery, as the endpoint gets them."""
    delivery, _ = _claim_new(endpoint, timezone.now(), 0)
    body = json.loads(delivery.body)
    return body["data"]["events"] if body["type"] == "batch" else [body]


def test_a_message_event_says_what_an_integrator_needs():
    endpoint = _endpoint(EventType.MESSAGE_SENT)
    message = MessageFactory(status=MessageStatus.SENT, wa_message_id="wa-1", attempts=1)
    message_events_emit([(EventType.MESSAGE_SENT, message.pk)])
    event = WebhookEvent.objects.get()
    assert event.endpoint == endpoint
    [payload] = _delivered_payloads(endpoint)
    assert payload["type"] == "message.sent"
    assert payload["timestamp"] == event.created_at.isoformat().replace("+00:00", "Z")
    debtor = message.debtor
    assert payload["data"] == {
        "message_id": message.pk,
        "campaign_id": message.campaign_id,
        "account_id": None,
        "status": "sent",
        "wa_message_id": "wa-1",
        "error": "",
        "attempts": 1,
        "reply_text": None,
        "debtor": {
            "id": debtor.pk,
            "name": debtor.name,
            "reference": debtor.reference,
            "phone": debtor.phone_e164,
        },
    }


def test_a_message_event_tells_the_message_as_it_was_when_it_happened():
    endpoint = _endpoint(EventType.MESSAGE_SENT, EventType.MESSAGE_READ, batch_size=10)
    message = MessageFactory(status=MessageStatus.SENT, wa_message_id="wa-1")
    message_events_emit([(EventType.MESSAGE_SENT, message.pk)])
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.READ)
    message_events_emit([(EventType.MESSAGE_READ, message.pk)])
    Message.objects.filter(pk=message.pk).update(status=MessageStatus.FAILED, last_error="x")
    sent, read = _delivered_payloads(endpoint)
    assert (sent["type"], sent["data"]["status"]) == ("message.sent", "sent")
    assert (read["type"], read["data"]["status"], read["data"]["error"]) == (
        "message.read",
        "read",
        "",
    )


def test_each_reply_event_carries_its_own_reply():
    endpoint = _endpoint(EventType.MESSAGE_REPLY, batch_size=10)
    message = replied_message(reply_text="Ya pagué", status=MessageStatus.READ)
    message_events_emit([(EventType.MESSAGE_REPLY, message.pk)])
    IncomingMessageFactory(
        conversation=message.debtor.conversation, in_reply_to=message, text="¿Me oye?"
    )
    message_events_emit([(EventType.MESSAGE_REPLY, message.pk)])
    texts = [payload["data"]["reply_text"] for payload in _delivered_payloads(endpoint)]
    assert texts == ["Ya pagué", "¿Me oye?"]


def test_an_event_of_a_message_deleted_before_its_delivery_is_still_sent():
    endpoint = _endpoint(EventType.MESSAGE_SENT)
    message = MessageFactory(status=MessageStatus.SENT)
    message_events_emit([(EventType.MESSAGE_SENT, message.pk)])
    pk = message.pk
    message.delete()
    [payload] = _delivered_payloads(endpoint)
    assert payload["data"]["message_id"] == pk
    assert (payload["data"]["campaign_id"], payload["data"]["debtor"]) == (None, None)


class _Undo(Exception):
    pass


def _opt_out_then_fail(debtor):
    with transaction.atomic():
        debtor_opt_out(
            debtors=Debtor.objects.filter(pk=debtor.pk),
            at=debtor.created_at,
            source=OptOutSource.OPERATOR,
        )
        assert WebhookEvent.objects.count() == 1
        raise _Undo


def test_an_event_of_a_rolled_back_change_is_never_written():
    _endpoint(EventType.DEBTOR_OPTED_OUT)
    debtor = MessageFactory().debtor
    with pytest.raises(_Undo):
        _opt_out_then_fail(debtor)
    assert WebhookEvent.objects.count() == 0


def test_an_opt_out_and_a_pause_write_their_events():
    _endpoint(EventType.DEBTOR_OPTED_OUT, EventType.CAMPAIGN_PAUSED)
    campaign = running_campaign(pending=1)
    debtor = campaign.messages.get().debtor
    debtor_opt_out(
        debtors=Debtor.objects.filter(pk=debtor.pk), at=debtor.created_at, source=OptOutSource.REPLY
    )
    campaign_pause(campaign=campaign)
    types = list(WebhookEvent.objects.order_by("id").values_list("type", flat=True))
    assert types == ["debtor.opted_out", "campaign.paused"]
    paused = WebhookEvent.objects.get(type="campaign.paused").payload["data"]
    assert paused["campaign_id"] == campaign.pk
    assert paused["status"] == "paused"


def test_only_subscribed_types_reach_an_endpoint():
    _endpoint(EventType.MESSAGE_READ)
    message = MessageFactory()
    message_events_emit(
        [(EventType.MESSAGE_SENT, message.pk), (EventType.MESSAGE_READ, message.pk)]
    )
    assert list(WebhookEvent.objects.values_list("type", flat=True)) == ["message.read"]


def _outbox_is_empty():
    return not (
        WebhookEndpoint.objects.exists()
        or WebhookDelivery.objects.exists()
        or WebhookEvent.objects.exists()
    )


@pytest.mark.django_db(transaction=True)
def test_a_delete_waits_for_a_delivery_being_claimed_and_takes_it_along():
    endpoint = _endpoint(EventType.CAMPAIGN_PAUSED)
    events_emit(type=EventType.CAMPAIGN_PAUSED, rows=[{"campaign_id": 1}, {"campaign_id": 2}])
    deleting = InOtherConnection(lambda: endpoint_delete(endpoint=endpoint))
    with transaction.atomic():
        # The worker has put the events in a new delivery and not yet committed it.
        claimed = _claim_new(endpoint, timezone.now(), 0)
        assert claimed is not None
        deleting.start()
        deleting.wait_blocked()
    deleting.finish()

    assert _outbox_is_empty()
    # The worker goes on to send what it claimed: it finds nothing and stops quietly.
    assert delivery_attempt(delivery_id=claimed[0].pk) is False


@pytest.mark.django_db(transaction=True)
def test_a_worker_claiming_while_a_delete_is_under_way_finds_the_endpoint_gone(receiver):
    endpoint = _endpoint(EventType.CAMPAIGN_PAUSED, url=receiver.url)
    events_emit(type=EventType.CAMPAIGN_PAUSED, rows=[{"campaign_id": 1}])
    deleted, release = threading.Event(), threading.Event()

    def delete_and_hold():
        with transaction.atomic():
            endpoint_delete(endpoint=endpoint)
            deleted.set()
            release.wait(timeout=30)

    deleting = InOtherConnection(delete_and_hold)
    delivering = InOtherConnection(webhooks_deliver_pending)
    deleting.start()
    assert deleted.wait(timeout=30)
    delivering.start()
    delivering.wait_blocked()
    release.set()
    deleting.finish()
    delivering.finish()

    assert _outbox_is_empty()
    assert receiver.tries == []


@pytest.mark.parametrize("emit", ["rows", "messages"])
@pytest.mark.django_db(transaction=True)
def test_a_change_racing_its_endpoints_delete_commits_and_its_event_is_never_sent(emit, receiver):
    endpoint = _endpoint(EventType.MESSAGE_SENT, url=receiver.url)
    message = MessageFactory(status=MessageStatus.SENT)
    deleted, release = threading.Event(), threading.Event()

    def delete_and_hold():
        with transaction.atomic():
            endpoint_delete(endpoint=endpoint)
            deleted.set()
            release.wait(timeout=30)

    def change_with_its_event():
        with transaction.atomic():
            Message.objects.filter(pk=message.pk).update(wa_message_id="wa-1")
            if emit == "rows":
                events_emit(type=EventType.MESSAGE_SENT, rows=[{"message_id": message.pk}])
            else:
                message_events_emit([(EventType.MESSAGE_SENT, message.pk)])

    deleting = InOtherConnection(delete_and_hold)
    changing = InOtherConnection(change_with_its_event)
    deleting.start()
    assert deleted.wait(timeout=30)
    changing.start()
    changing.finish()  # while the delete still holds the endpoint
    release.set()
    deleting.finish()

    assert Message.objects.get(pk=message.pk).wa_message_id == "wa-1"
    # Written for the endpoint as the change saw it: never delivered, and pruned.
    assert WebhookEvent.objects.count() == 1
    webhooks_deliver_pending()
    assert receiver.tries == []
    webhooks_prune(keep=datetime.timedelta(days=7))
    assert _outbox_is_empty()


@pytest.mark.django_db(transaction=True)
def test_a_worker_recording_a_try_locks_the_endpoint_before_the_delivery(receiver):
    # endpoint_delete locks the endpoint, then deletes the deliveries: a recorder taking
    # them the other way round (a failed try marks the endpoint failing) would deadlock.
    endpoint = _endpoint(EventType.CAMPAIGN_PAUSED, url=receiver.url)
    receiver.secret = endpoint.secret
    receiver.answers = [500]
    events_emit(type=EventType.CAMPAIGN_PAUSED, rows=[{"campaign_id": 1}])
    claimed, _ = _claim_new(endpoint, timezone.now(), 0)
    locked, release = threading.Event(), threading.Event()

    def hold_the_endpoint():
        with transaction.atomic():
            list(WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk))
            locked.set()
            release.wait(timeout=30)

    holding = InOtherConnection(hold_the_endpoint)
    recording = InOtherConnection(lambda: delivery_attempt(delivery_id=claimed.pk))
    holding.start()
    assert locked.wait(timeout=30)
    recording.start()
    recording.wait_blocked()
    try:
        with transaction.atomic():
            # Raises when the blocked recorder already holds the delivery's row.
            list(WebhookDelivery.objects.select_for_update(nowait=True).filter(pk=claimed.pk))
    finally:
        release.set()
        holding.finish()
        recording.finish()

    delivery = WebhookDelivery.objects.get(pk=claimed.pk)
    assert (delivery.status, delivery.attempts) == (DeliveryStatus.PENDING, 1)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).failing_since is not None
