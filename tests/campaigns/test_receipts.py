import datetime

import pytest
from django.utils import timezone

from campaigns.engine import messages_apply_incoming
from campaigns.models import ContactPolicy, Message, MessageKind, MessageStatus
from debtors.models import Debtor
from sessions_app.drivers.base import IncomingMessage
from tests.factories import CampaignFactory, DebtorFactory, MessageFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db
CONFIRMATION = "Listo: no le escribiremos más por este medio."


def _sent(debtor, session, policy=None):
    """A campaign message this account sent to the debtor, under `policy`."""
    campaign = CampaignFactory(**({"policy": policy} if policy is not None else {}))
    return MessageFactory(
        campaign=campaign,
        debtor=debtor,
        session=session,
        status=MessageStatus.SENT,
        sent_at=timezone.now() - datetime.timedelta(minutes=5),
    )


def _reply(session, debtor, text="STOP", wa_id="reply-1"):
    messages_apply_incoming(
        session=session,
        incoming=[IncomingMessage(debtor.phone_e164, text, timezone.now(), wa_message_id=wa_id)],
    )


def _confirmations(debtor):
    return list(Message.objects.filter(debtor=debtor, kind=MessageKind.CONFIRMATION))


def test_a_stop_reply_queues_the_policys_confirmation_through_the_same_account():
    policy = ContactPolicy.objects.create(name="Confirms", opt_out_confirmation=CONFIRMATION)
    session, debtor = WhatsAppSessionFactory(), DebtorFactory()
    _sent(debtor, session, policy)
    _reply(session, debtor)
    [confirmation] = _confirmations(debtor)
    assert confirmation.body == CONFIRMATION
    assert confirmation.assigned_session == session
    assert confirmation.status == MessageStatus.PENDING
    assert confirmation.campaign is None
    assert Debtor.objects.get(pk=debtor.pk).opted_out


def test_a_repeated_stop_is_confirmed_once():
    policy = ContactPolicy.objects.create(name="Confirms", opt_out_confirmation=CONFIRMATION)
    session, debtor = WhatsAppSessionFactory(), DebtorFactory()
    _sent(debtor, session, policy)
    _reply(session, debtor, "STOP", wa_id="reply-1")
    _reply(session, debtor, "stop por favor", wa_id="reply-2")
    assert len(_confirmations(debtor)) == 1


def test_a_debtor_opted_in_again_who_stops_again_is_not_told_twice():
    policy = ContactPolicy.objects.create(name="Confirms", opt_out_confirmation=CONFIRMATION)
    session, debtor = WhatsAppSessionFactory(), DebtorFactory()
    _sent(debtor, session, policy)
    _reply(session, debtor, wa_id="reply-1")
    Debtor.objects.filter(pk=debtor.pk).update(opted_out=False, opted_out_at=None)
    _reply(session, debtor, wa_id="reply-2")
    assert len(_confirmations(debtor)) == 1


def test_a_policy_without_confirmation_text_sends_none():
    policy = ContactPolicy.objects.create(name="Silent")
    ContactPolicy.objects.filter(is_default=True).update(opt_out_confirmation=CONFIRMATION)
    session, debtor = WhatsAppSessionFactory(), DebtorFactory()
    _sent(debtor, session, policy)
    _reply(session, debtor)
    assert Debtor.objects.get(pk=debtor.pk).opted_out
    assert _confirmations(debtor) == []


def test_a_stop_to_no_campaign_message_follows_the_default_policy():
    ContactPolicy.objects.filter(is_default=True).update(opt_out_confirmation=CONFIRMATION)
    session, debtor = WhatsAppSessionFactory(), DebtorFactory()
    _reply(session, debtor)
    [confirmation] = _confirmations(debtor)
    assert confirmation.body == CONFIRMATION
    assert confirmation.assigned_session == session


def test_an_ordinary_reply_queues_no_confirmation():
    ContactPolicy.objects.filter(is_default=True).update(opt_out_confirmation=CONFIRMATION)
    session, debtor = WhatsAppSessionFactory(), DebtorFactory()
    _sent(debtor, session)
    _reply(session, debtor, "Ya pagué")
    assert _confirmations(debtor) == []
