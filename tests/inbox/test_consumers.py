import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from inbox.services import conversation_claim
from tests.conftest import role_user
from tests.factories import ConversationFactory
from tests.whatsmassive.test_consumers import _communicator, _handshake, _headers
from whatsmassive import roles

pytestmark = pytest.mark.django_db(transaction=True)


def _logged_in(role):
    client = Client()
    client.force_login(role_user(role))
    return client


def test_an_operator_is_told_live_of_an_assignment_and_of_a_change_in_the_inbox():
    conversation = ConversationFactory(unread_count=1)
    headers = _headers(_logged_in(roles.OPERATOR))
    other = role_user(roles.OPERATOR)

    async def run():
        page: WebsocketCommunicator = _communicator(
            f"/ws/conversations/{conversation.pk}/", headers
        )
        nav: WebsocketCommunicator = _communicator("/ws/inbox/", headers)
        assert (await page.connect(timeout=5))[0]
        assert (await nav.connect(timeout=5))[0]

        await sync_to_async(conversation_claim)(conversation=conversation, by=other)
        hint = await page.receive_from(timeout=5)
        count = await nav.receive_from(timeout=5)
        await page.disconnect()
        await nav.disconnect()
        return hint, count

    hint, count = async_to_sync(run)()
    assert f'id="conversation-{conversation.pk}-changed"' in hint
    assert 'id="inbox-changed"' in count


def test_inbox_sockets_need_a_role_that_reads_conversations():
    conversation = ConversationFactory()
    nobody = _headers(_logged_in(None))
    assert not _handshake("/ws/inbox/", nobody)
    assert not _handshake(f"/ws/conversations/{conversation.pk}/", nobody)
    assert _handshake("/ws/inbox/", _headers(_logged_in(roles.VIEWER)))
    assert not _handshake("/ws/conversations/999999/", _headers(_logged_in(roles.VIEWER)))
