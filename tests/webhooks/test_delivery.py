import datetime

import pytest
from django.utils import timezone

from tests.factories import UserFactory
from webhooks.delivery import MAX_ATTEMPTS, webhooks_deliver_pending, webhooks_prune
from webhooks.models import (
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from webhooks.services import delivery_replay, endpoint_create, events_emit

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(receiver):
    def make(**fields):
        created = endpoint_create(
            url=receiver.url, event_types=[EventType.CAMPAIGN_PAUSED], by=UserFactory(), **fields
        )
        receiver.secret = created.secret
        return created

    return make


def _emit(n=1):
    events_emit(type=EventType.CAMPAIGN_PAUSED, rows=[{"campaign_id": i} for i in range(n)])


def _retry_now():
    """Let the clock reach every scheduled retry."""
    WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now()
    )


def test_a_receiver_verifies_the_signature_of_each_event(endpoint, receiver):
    assert endpoint().secret.startswith("whsec_")
    _emit(2)
    webhooks_deliver_pending()
    assert receiver.bad_signatures == 0
    bodies = [event for _, event in receiver.events()]
    assert [body["data"]["campaign_id"] for body in bodies] == [0, 1]
    assert {body["type"] for body in bodies} == {"campaign.paused"}
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 2


def test_after_500s_and_a_timeout_it_retries_with_the_same_webhook_id(endpoint, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    endpoint()
    receiver.answers = [500, "timeout", 503]
    _emit()
    webhooks_deliver_pending()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.response_status == 500
    assert delivery.next_attempt_at > timezone.now()
    for _ in range(3):
        _retry_now()
        webhooks_deliver_pending()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 4
    assert len(receiver.tries) == 4
    assert set(receiver.tries) == {delivery.webhook_id}
    assert len(receiver.events()) == 1


def test_it_gives_up_after_its_tries(endpoint, receiver):
    endpoint()
    receiver.answers = [500] * MAX_ATTEMPTS
    _emit()
    webhooks_deliver_pending()
    for _ in range(MAX_ATTEMPTS - 1):
        _retry_now()
        webhooks_deliver_pending()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == MAX_ATTEMPTS == len(receiver.tries)


def test_an_endpoint_failing_every_try_for_3_days_is_disabled(endpoint, receiver):
    created = endpoint()
    receiver.answers = [500, 500]
    _emit()
    webhooks_deliver_pending()
    created.refresh_from_db()
    assert created.enabled  # failing, not for long
    WebhookEndpoint.objects.filter(pk=created.pk).update(
        failing_since=timezone.now() - datetime.timedelta(days=3, seconds=1)
    )
    _retry_now()
    webhooks_deliver_pending()
    created.refresh_from_db()
    assert not created.enabled
    assert "3 days" in created.disabled_reason


def test_a_success_ends_an_endpoint_failing_spell(endpoint, receiver):
    created = endpoint()
    receiver.answers = [500]
    _emit()
    webhooks_deliver_pending()
    _retry_now()
    webhooks_deliver_pending()
    created.refresh_from_db()
    assert created.failing_since is None


def test_a_replay_sends_a_delivery_again_with_its_id(endpoint, receiver):
    endpoint()
    _emit()
    webhooks_deliver_pending()
    delivery = WebhookDelivery.objects.get()
    delivery_replay(delivery=delivery)
    webhooks_deliver_pending()
    assert receiver.tries == [delivery.webhook_id, delivery.webhook_id]


def test_a_batching_endpoint_takes_up_to_its_batch_size_per_request(endpoint, receiver):
    endpoint(batch_size=100)
    _emit(250)
    webhooks_deliver_pending()
    assert len(receiver.tries) == 3
    assert len(receiver.events()) == 250
    assert len({event["data"]["campaign_id"] for _, event in receiver.events()}) == 250
    assert receiver.bad_signatures == 0


def test_old_succeeded_deliveries_are_pruned_with_their_events(endpoint, receiver):
    endpoint()
    _emit(2)
    webhooks_deliver_pending()
    WebhookDelivery.objects.update(delivered_at=timezone.now() - datetime.timedelta(days=8))
    assert webhooks_prune(keep=datetime.timedelta(days=7)) == 2
    assert not WebhookEvent.objects.exists()
