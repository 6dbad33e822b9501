import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from campaigns.engine import (
    NobodyLeft,
    engine_send_next,
    messages_apply_acks,
    messages_apply_incoming,
    messages_hand_over,
)
from campaigns.engine.pacing import Pacer
from campaigns.models import Message, MessageKind, MessageStatus
from campaigns.services import campaign_start
from debtors.models import DebtorStatus
from inbox.models import Conversation, ConversationNote, IncomingMessage
from inbox.services import (
    AnswerRefused,
    AssignmentConflict,
    conversation_answer,
    conversation_claim,
    conversation_hand_over,
    conversation_mark_seen,
    conversation_release,
    direct_message_queue,
)
from sessions_app.drivers.base import Ack, AckStatus
from sessions_app.drivers.base import IncomingMessage as Received
from sessions_app.drivers.sandbox import read_log_path, read_read_log
from sessions_app.models import PoolStrategy, SessionStatus
from sessions_app.services import session_logout
from tests.factories import (
    CampaignFactory,
    ConversationFactory,
    DebtorFactory,
    PoolFactory,
    PoolMemberFactory,
)

pytestmark = pytest.mark.django_db


def _sent_campaign(session, driver, debtor):
    pool = PoolFactory(strategy=PoolStrategy.FIXED_TURNS)
    PoolMemberFactory(pool=pool, session=session)
    campaign = campaign_start(campaign=CampaignFactory(pool=pool))
    engine_send_next(session=session, driver=driver, pacer=Pacer.load(session))
    assert Message.objects.get(campaign=campaign, debtor=debtor).status == MessageStatus.SENT
    return campaign


def test_a_reply_is_stored_once_in_the_debtors_conversation_however_often_it_is_polled(
    connected_account,
):
    session, driver = connected_account()
    debtor = DebtorFactory()
    _sent_campaign(session, driver, debtor)
    reply = Received(debtor.phone_e164, "Ya pagué", timezone.now(), wa_message_id="false_1_A")

    messages_apply_incoming(session=session, incoming=[reply])
    messages_apply_incoming(session=session, incoming=[reply])

    incoming = IncomingMessage.objects.get()
    conversation = Conversation.objects.get()
    assert (incoming.text, incoming.session, incoming.conversation) == (
        "Ya pagué",
        session,
        conversation,
    )
    assert incoming.in_reply_to == Message.objects.get(debtor=debtor)
    assert conversation.debtor == debtor
    assert conversation.unread_count == 1
    assert conversation.last_session == session


def test_a_media_message_keeps_what_it_carried(connected_account):
    session, driver = connected_account()
    debtor = DebtorFactory()
    _sent_campaign(session, driver, debtor)
    messages_apply_incoming(
        session=session,
        incoming=[
            Received(debtor.phone_e164, "", timezone.now(), wa_message_id="x", media="image")
        ],
    )
    assert IncomingMessage.objects.get().media == "image"
    assert Conversation.objects.get().preview == "[image]"


def test_an_answer_goes_out_once_through_the_account_that_wrote_first_ahead_of_campaigns(
    connected_account, send_log, operator
):
    read_log_path().unlink(missing_ok=True)
    session, driver = connected_account()
    other, _ = connected_account()
    debtor = DebtorFactory()
    _sent_campaign(session, driver, debtor)
    # More campaign work for the account: the answer still goes first.
    DebtorFactory.create_batch(3)
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=session)
    PoolMemberFactory(pool=pool, session=other)
    campaign_start(campaign=CampaignFactory(pool=pool))
    conversation = ConversationFactory(debtor=debtor, unread_count=2, last_session=other)

    answer = conversation_answer(
        conversation=conversation, text="Gracias, lo revisamos", by=operator
    )
    engine_send_next(session=session, driver=driver, pacer=Pacer.load(session))

    answer.refresh_from_db()
    assert (answer.kind, answer.campaign, answer.session) == (MessageKind.REPLY, None, session)
    assert answer.status == MessageStatus.SENT
    assert [row for row in send_log() if row[0] == answer.wa_message_id] == [
        (answer.wa_message_id, session.profile_dir_path.name, debtor.phone_e164)
    ]
    assert read_read_log() == [(session.profile_dir_path.name, debtor.phone_e164)]
    assert Conversation.objects.get().unread_count == 0


def test_an_opted_out_debtor_gets_no_answer_but_their_confirmation(connected_account, operator):
    session, driver = connected_account()
    debtor = DebtorFactory()
    _sent_campaign(session, driver, debtor)
    debtor.opted_out = True
    debtor.save()
    conversation = ConversationFactory(debtor=debtor)

    with pytest.raises(AnswerRefused, match="opted out"):
        conversation_answer(conversation=conversation, text="Hola", by=operator)
    confirmation = direct_message_queue(
        debtor=debtor, session=session, text="Listo, no le escribiremos más.",
        kind=MessageKind.CONFIRMATION, by=None,
    )  # fmt: skip
    engine_send_next(session=session, driver=driver, pacer=Pacer.load(session))

    confirmation.refresh_from_db()
    assert confirmation.status == MessageStatus.SENT
    assert not Message.objects.filter(kind=MessageKind.REPLY).exists()


def test_an_empty_answer_or_one_without_an_account_is_refused(operator):
    conversation = ConversationFactory()
    with pytest.raises(AnswerRefused, match="empty"):
        conversation_answer(conversation=conversation, text="  ", by=operator)
    with pytest.raises(AnswerRefused, match="No account"):
        conversation_answer(conversation=conversation, text="Hola", by=operator)
    assert not Message.objects.exists()


def test_a_viewer_cannot_answer_or_assign(viewer):
    conversation = ConversationFactory()
    with pytest.raises(PermissionDenied):
        conversation_answer(conversation=conversation, text="Hola", by=viewer)
    with pytest.raises(PermissionDenied):
        conversation_claim(conversation=conversation, by=viewer)
    conversation_mark_seen(conversation=conversation, by=viewer)


def test_the_second_operator_to_claim_is_told_who_was_first(operator, supervisor):
    conversation = ConversationFactory()
    conversation_claim(conversation=conversation, by=operator)
    with pytest.raises(AssignmentConflict, match=operator.username):
        conversation_claim(conversation=conversation, by=supervisor)
    assert Conversation.objects.get().assigned_to == operator


def test_a_conversation_is_handed_over_to_an_operator_only_and_released(
    operator, supervisor, viewer
):
    conversation = ConversationFactory(assigned_to=operator)
    with pytest.raises(AssignmentConflict):
        conversation_hand_over(conversation=conversation, to=viewer, by=operator)
    conversation_hand_over(conversation=conversation, to=supervisor, by=operator)
    assert Conversation.objects.get().assigned_to == supervisor
    conversation_release(conversation=conversation, by=supervisor)
    assert Conversation.objects.get().assigned_to is None


def test_opening_a_conversation_clears_its_unread_count_without_telling_whatsapp(viewer):
    read_log_path().unlink(missing_ok=True)
    conversation = ConversationFactory(unread_count=3)
    conversation_mark_seen(conversation=conversation, by=viewer)
    assert Conversation.objects.get().unread_count == 0
    assert read_read_log() == []


@pytest.mark.parametrize("kind", [MessageKind.REPLY, MessageKind.CONFIRMATION])
def test_an_answer_or_a_confirmation_leaves_the_debtors_collection_status_alone(
    connected_account, operator, kind
):
    session, driver = connected_account()
    debtor = DebtorFactory()
    _sent_campaign(session, driver, debtor)
    messages_apply_incoming(
        session=session,
        incoming=[Received(debtor.phone_e164, "¿Cuánto debo?", timezone.now(), wa_message_id="q")],
    )
    debtor.refresh_from_db()
    assert debtor.status == DebtorStatus.REPLIED
    message = direct_message_queue(
        debtor=debtor, session=session, text="Son 100.000", kind=kind, by=operator
    )

    engine_send_next(session=session, driver=driver, pacer=Pacer.load(session))
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    debtor.refresh_from_db()
    assert debtor.status == DebtorStatus.REPLIED
    messages_apply_acks(
        session=session,
        acks=[
            Ack(message.wa_message_id, AckStatus.DELIVERED),
            Ack(message.wa_message_id, AckStatus.READ),
        ],
    )

    message.refresh_from_db()
    debtor.refresh_from_db()
    assert (message.status, debtor.status) == (MessageStatus.READ, DebtorStatus.REPLIED)


def _answer_waiting_for(session, other, operator):
    debtor = DebtorFactory()
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=session)
    PoolMemberFactory(pool=pool, session=other)
    conversation = ConversationFactory(debtor=debtor, last_session=session)
    return conversation, conversation_answer(
        conversation=conversation, text="Le confirmo el acuerdo", by=operator
    )


def test_an_answer_for_a_logged_out_account_goes_out_once_through_another_of_its_pool(
    connected_account, send_log, operator, supervisor
):
    session, _ = connected_account(name="Cobros 1")
    other, other_driver = connected_account(name="Cobros 2")
    conversation, answer = _answer_waiting_for(session, other, operator)

    session_logout(session=session, by=supervisor)
    engine_send_next(session=other, driver=other_driver, pacer=Pacer.load(other))

    answer.refresh_from_db()
    assert (answer.status, answer.assigned_session, answer.session) == (
        MessageStatus.SENT,
        other,
        other,
    )
    assert [row[2] for row in send_log()] == [conversation.debtor.phone_e164]
    note = ConversationNote.objects.get()
    assert (note.conversation, note.message) == (conversation, answer)
    assert "Cobros 1 is logged out" in note.text
    assert "Cobros 2" in note.text


def test_an_answer_fails_with_its_reason_when_no_connected_account_is_left(
    connected_account, operator, supervisor, client
):
    session, _ = connected_account(name="Cobros 1")
    other, _ = connected_account(name="Cobros 2")
    type(other).objects.filter(pk=other.pk).update(status=SessionStatus.DISCONNECTED)
    conversation, answer = _answer_waiting_for(session, other, operator)

    session_logout(session=session, by=supervisor)

    answer.refresh_from_db()
    assert answer.status == MessageStatus.FAILED
    assert "no other account of its pools is connected" in answer.last_error
    client.force_login(operator)
    page = client.get(f"/inbox/{conversation.pk}/").content.decode()
    assert page.count("Cobros 1 is logged out and no other account") == 2  # note and message


def test_an_answer_waits_for_an_account_that_is_only_disconnected(
    connected_account, operator, supervisor
):
    session, _ = connected_account()
    other, _ = connected_account()
    _, answer = _answer_waiting_for(session, other, operator)
    type(session).objects.filter(pk=session.pk).update(status=SessionStatus.DISCONNECTED)

    messages_hand_over(session=session, nobody_left=NobodyLeft.KEEP)

    answer.refresh_from_db()
    assert (answer.status, answer.assigned_session) == (MessageStatus.PENDING, session)
    assert not ConversationNote.objects.exists()
