import pytest
from django.urls import reverse

from campaigns.models import Message, MessageKind
from inbox.models import Conversation, QuickReply
from tests.factories import (
    ConversationFactory,
    DebtorFactory,
    IncomingMessageFactory,
    MessageFactory,
    QuickReplyFactory,
    WhatsAppSessionFactory,
)

pytestmark = pytest.mark.django_db


def test_the_inbox_lists_unread_conversations_first_and_searches(client, viewer):
    read = ConversationFactory(debtor=DebtorFactory(name="Ana Read"), preview="ok")
    unread = ConversationFactory(
        debtor=DebtorFactory(name="Bea Unread"), unread_count=1, preview="Ya pagué"
    )
    client.force_login(viewer)
    text = client.get(reverse("inbox")).content.decode()
    assert text.index("Bea Unread") < text.index("Ana Read")
    found = client.get(reverse("inbox"), {"q": "Ana"}, HTTP_HX_REQUEST="true").content.decode()
    assert "Ana Read" in found
    assert "Bea Unread" not in found
    assert read.pk != unread.pk


def test_mine_shows_only_the_operators_queue(client, operator, supervisor):
    ConversationFactory(debtor=DebtorFactory(name="Mine"), assigned_to=operator)
    ConversationFactory(debtor=DebtorFactory(name="Theirs"), assigned_to=supervisor)
    client.force_login(operator)
    text = client.get(reverse("inbox"), {"assigned": "mine"}).content.decode()
    assert "Mine" in text
    assert "Theirs" not in text


def test_opening_a_conversation_shows_the_thread_and_clears_unread(client, viewer):
    conversation = ConversationFactory(unread_count=2)
    MessageFactory(debtor=conversation.debtor, body="Hola, su saldo")
    IncomingMessageFactory(conversation=conversation, text="¿Me puede llamar mañana?")
    client.force_login(viewer)
    text = client.get(reverse("conversation_detail", args=[conversation.pk])).content.decode()
    assert "Hola, su saldo" in text
    assert "¿Me puede llamar mañana?" in text
    assert "Send answer" not in text  # a viewer reads only
    assert Conversation.objects.get().unread_count == 0


def test_an_operator_answers_with_a_quick_reply_through_the_sticky_account(client, operator):
    account = WhatsAppSessionFactory(name="Cobranzas 1")
    conversation = ConversationFactory(debtor=DebtorFactory(name="Lucía"), last_session=account)
    quick = QuickReplyFactory(text="Gracias {name}")
    client.force_login(operator)
    response = client.post(
        reverse("conversation_answer", args=[conversation.pk]), {"quick_reply": quick.pk}
    )
    assert response.status_code == 302
    answer = Message.objects.get()
    assert (answer.kind, answer.body, answer.assigned_session) == (
        MessageKind.REPLY,
        "Gracias Lucía",
        account,
    )


def test_an_opted_out_debtor_cannot_be_answered_and_the_page_says_so(client, operator):
    account = WhatsAppSessionFactory()
    conversation = ConversationFactory(
        debtor=DebtorFactory(name="Out", opted_out=True), last_session=account
    )
    client.force_login(operator)
    client.post(reverse("conversation_answer", args=[conversation.pk]), {"text": "Hola"})
    text = client.get(reverse("conversation_detail", args=[conversation.pk])).content.decode()
    assert not Message.objects.exists()
    assert "Out opted out: no message may be sent to them from the app." in text


def test_assign_to_me_and_release(client, operator):
    conversation = ConversationFactory()
    client.force_login(operator)
    url = reverse("conversation_assign", args=[conversation.pk])
    client.post(url, {"action": "claim"})
    assert Conversation.objects.get().assigned_to == operator
    client.post(url, {"action": "release"})
    assert Conversation.objects.get().assigned_to is None


def test_a_viewer_may_not_assign(client, viewer):
    conversation = ConversationFactory()
    client.force_login(viewer)
    response = client.post(
        reverse("conversation_assign", args=[conversation.pk]), {"action": "claim"}
    )
    assert response.status_code == 403
    assert Conversation.objects.get().assigned_to is None


def test_an_operator_records_a_promise_from_the_conversation(client, operator):
    conversation = ConversationFactory()
    client.force_login(operator)
    url = reverse("conversation_detail", args=[conversation.pk])
    text = client.get(url).content.decode()
    action = reverse("debtor_disposition_list", args=[conversation.debtor.pk])
    assert f'hx-post="{action}"' in text
    client.post(action, {"kind": "promise", "amount": "50000", "date": "2027-01-15"})
    assert conversation.debtor.dispositions.get().kind == "promise"
    assert "promise to pay" in client.get(url).content.decode().lower()


def test_the_unread_badge_counts_the_users_own_and_the_unassigned_conversations(
    client, operator, supervisor
):
    ConversationFactory(unread_count=2, assigned_to=operator)
    ConversationFactory(unread_count=1)
    ConversationFactory(unread_count=4, assigned_to=supervisor)
    ConversationFactory(unread_count=0, assigned_to=operator)
    client.force_login(operator)
    badge = client.get(reverse("inbox_unread"), HTTP_HX_REQUEST="true").content.decode()
    assert 'id="inbox-unread"' in badge
    assert ">2</span>" in badge
    assert 'id="inbox-changed"' not in badge
    client.force_login(supervisor)
    assert ">2</span>" in client.get(reverse("inbox_unread")).content.decode()
    ConversationFactory(unread_count=1, assigned_to=supervisor)
    assert ">3</span>" in client.get(reverse("inbox_unread")).content.decode()


def test_an_htmx_answer_swaps_the_answer_box_and_keeps_a_refused_text(client, operator):
    account = WhatsAppSessionFactory()
    conversation = ConversationFactory(last_session=account)
    client.force_login(operator)
    url = reverse("conversation_answer", args=[conversation.pk])

    sent = client.post(url, {"text": "Hola"}, HTTP_HX_REQUEST="true").content.decode()
    refused = client.post(url, {"text": "   "}, HTTP_HX_REQUEST="true").content.decode()

    assert sent.lstrip().startswith('<section id="conversation-answer"')
    assert "Answer queued" in sent
    assert 'aria-label="Answer"></textarea>' in sent  # emptied
    assert "empty message is not sent" in refused
    assert Message.objects.get().body == "Hola"


def test_picking_a_quick_reply_fills_the_answer_box_for_the_debtor(client, operator):
    conversation = ConversationFactory(debtor=DebtorFactory(name="Lucía"))
    quick = QuickReplyFactory(text="Gracias {name}, quedamos atentos")
    client.force_login(operator)
    box = client.get(
        reverse("conversation_quick_reply", args=[conversation.pk]),
        {"quick_reply": quick.pk},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert 'id="answer-text"' in box
    assert ">Gracias Lucía, quedamos atentos</textarea>" in box


def test_an_htmx_claim_swaps_the_assignment_and_says_who_was_first(client, operator, supervisor):
    conversation = ConversationFactory()
    url = reverse("conversation_assign", args=[conversation.pk])
    client.force_login(operator)
    mine = client.post(url, {"action": "claim"}, HTTP_HX_REQUEST="true").content.decode()
    client.force_login(supervisor)
    late = client.post(url, {"action": "claim"}, HTTP_HX_REQUEST="true").content.decode()

    assert mine.lstrip().startswith('<section id="conversation-assignment"')
    assert f'<strong class="assignee">{operator}</strong>' in mine
    assert "Assign to me" not in mine
    assert f"{operator} took this conversation first." in late
    assert Conversation.objects.get().assigned_to == operator


def test_a_supervisor_creates_edits_and_deletes_quick_replies(client, supervisor):
    client.force_login(supervisor)
    page = reverse("quick_reply_list")
    assert client.get(reverse("inbox")).content.decode().count(f'href="{page}"') == 1

    created = client.post(page, {"title": "Saldo", "text": "Su saldo es {amount}"})
    quick = QuickReply.objects.get()
    edited = client.post(
        reverse("quick_reply_edit", args=[quick.pk]),
        {"title": "Saldo", "text": "{name}, su saldo es {amount}"},
    )
    quick.refresh_from_db()
    assert (created.status_code, edited.status_code) == (302, 302)
    assert quick.text == "{name}, su saldo es {amount}"
    assert "{name}, su saldo es {amount}" in client.get(page).content.decode()

    client.post(reverse("quick_reply_delete", args=[quick.pk]))
    assert not QuickReply.objects.exists()


def test_a_quick_reply_with_a_broken_placeholder_is_refused_on_the_form(client, supervisor):
    client.force_login(supervisor)
    response = client.post(
        reverse("quick_reply_list"), {"title": "Roto", "text": "Hola {name:>10}"}
    )
    assert response.status_code == 400
    assert "is not a placeholder" in response.content.decode()
    assert not QuickReply.objects.exists()


def test_an_operator_sees_the_quick_replies_but_cannot_change_them(client, operator):
    quick = QuickReplyFactory(title="Saludo")
    client.force_login(operator)
    text = client.get(reverse("quick_reply_list")).content.decode()
    assert "Saludo" in text
    assert 'id="quick-reply-form"' not in text
    assert reverse("quick_reply_edit", args=[quick.pk]) not in text
    assert client.post(reverse("quick_reply_list"), {"title": "x", "text": "y"}).status_code == 403
    assert client.post(reverse("quick_reply_delete", args=[quick.pk])).status_code == 403
    assert QuickReply.objects.count() == 1
