import pytest
from django.urls import reverse

from inbox.models import ConversationNote
from tests.factories import ConversationFactory

pytestmark = pytest.mark.django_db


def test_a_conversations_admin_page_shows_its_notes_read_only(client, staff_user):
    conversation = ConversationFactory()
    ConversationNote.objects.create(
        conversation=conversation, text="Cobros 1 is logged out: this message goes out through B."
    )
    client.force_login(staff_user)
    page = client.get(reverse("admin:inbox_conversation_change", args=[conversation.pk]))
    text = page.content.decode()
    assert page.status_code == 200
    assert "Cobros 1 is logged out: this message goes out through B." in text
    assert 'name="notes-0-text"' not in text
