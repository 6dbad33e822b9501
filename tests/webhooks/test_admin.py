import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tests.factories import UserFactory
from tests.webhooks.conftest import InOtherConnection
from webhooks.delivery import _claim_new
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import endpoint_create, events_emit


@pytest.mark.parametrize("how", ["page", "action"])
@pytest.mark.django_db(transaction=True)
def test_staff_deleting_an_endpoint_mid_delivery_wait_for_it_and_take_its_outbox(
    staff_user, how, monkeypatch
):
    # This test is the delivery: a real worker left by an earlier test must not be woken.
    monkeypatch.setattr("webhooks.services.kick", lambda: None)
    # An earlier transactional test's flush gave the content types new ids: the admin's log
    # entry must not use the ones this process cached.
    ContentType.objects.clear_cache()
    endpoint = endpoint_create(
        url="http://127.0.0.1:9/hooks", event_types=[EventType.CAMPAIGN_PAUSED], by=UserFactory()
    )
    events_emit(type=EventType.CAMPAIGN_PAUSED, rows=[{"campaign_id": 1}])
    client = Client()
    client.force_login(staff_user)
    if how == "page":
        url = reverse("admin:webhooks_webhookendpoint_delete", args=[endpoint.pk])
        form = {"post": "yes"}
    else:
        url = reverse("admin:webhooks_webhookendpoint_changelist")
        form = {"action": "delete_selected", "_selected_action": [endpoint.pk], "post": "yes"}
    answers = []
    deleting = InOtherConnection(lambda: answers.append(client.post(url, form)))
    with transaction.atomic():
        assert _claim_new(endpoint, timezone.now(), 0) is not None
        deleting.start()
        deleting.wait_blocked()
    deleting.finish()

    assert answers[0].status_code == 302
    assert not WebhookEndpoint.objects.exists()
    assert not WebhookDelivery.objects.exists()
    assert not WebhookEvent.objects.exists()
