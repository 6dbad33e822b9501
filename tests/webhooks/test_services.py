import pytest
from django.db import transaction

from campaigns.models import MessageStatus
from campaigns.services import campaign_pause
from debtors.models import Debtor, OptOutSource
from debtors.services import debtor_opt_out
from tests.factories import MessageFactory, UserFactory, running_campaign
from webhooks.models import EventType, WebhookEvent
from webhooks.services import (
    endpoint_create,
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


def test_a_message_event_says_what_an_integrator_needs():
    endpoint = _endpoint(EventType.MESSAGE_SENT)
    message = MessageFactory(status=MessageStatus.SENT, wa_message_id="wa-1")
    message_events_emit([(EventType.MESSAGE_SENT, message.pk)])
    event = WebhookEvent.objects.get()
    assert event.endpoint == endpoint
    assert event.payload["type"] == "message.sent"
    data = event.payload["data"]
    assert data["message_id"] == message.pk
    assert data["campaign_id"] == message.campaign_id
    assert data["status"] == "sent"
    assert data["wa_message_id"] == "wa-1"
    assert data["debtor"]["phone"] == message.debtor.phone_e164
    assert data["debtor"]["reference"] == message.debtor.reference


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
