import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from tests.conftest import role_user
from tests.factories import CampaignFactory, WhatsAppSessionFactory
from whatsmassive import realtime, roles
from whatsmassive.user_sessions import sessions_end_expired

pytestmark = pytest.mark.django_db(transaction=True)

FRAGMENT = '<div id="campaign-1-progress">42%</div>'


def _headers(client=None, origin="http://testserver"):
    headers = [(b"host", b"testserver"), (b"origin", origin.encode())]
    if client is not None:
        name = settings.SESSION_COOKIE_NAME
        headers.append((b"cookie", f"{name}={client.cookies[name].value}".encode()))
    return headers


def _communicator(path, headers):
    # Imported late: the origin validator reads ALLOWED_HOSTS when the application is
    # built, and the test environment adds "testserver" to it only once the run starts.
    from whatsmassive.asgi import application

    return WebsocketCommunicator(application, path, headers=headers)


def _handshake(path, headers):
    """Whether the socket at `path` is accepted for a client sending `headers`."""

    async def run():
        communicator = _communicator(path, headers)
        connected, _ = await communicator.connect(timeout=5)
        await communicator.disconnect()
        return connected

    return async_to_sync(run)()


def _receive_broadcast(path, headers, group, *, idle=0.0):
    """Connect to `path`, stay idle `idle` seconds, broadcast one fragment to `group`, return
    the frame received."""

    async def run():
        communicator = _communicator(path, headers)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        assert await communicator.receive_nothing(timeout=idle, interval=0.5)
        await get_channel_layer().group_send(group, {"type": "fragment", "html": FRAGMENT})
        try:
            return await communicator.receive_from(timeout=5)
        finally:
            await communicator.disconnect()

    return async_to_sync(run)()


@pytest.fixture
def logged_in(client, operator):
    client.force_login(operator)
    return client


def test_an_operator_joins_the_campaign_group_and_receives_its_fragments(logged_in):
    campaign = CampaignFactory()
    frame = _receive_broadcast(
        f"/ws/campaigns/{campaign.pk}/", _headers(logged_in), realtime.campaign_group(campaign.pk)
    )
    assert frame == FRAGMENT


@pytest.mark.parametrize(
    ("path", "group"),
    [("/ws/dashboard/", realtime.DASHBOARD_GROUP), ("/ws/sessions/", realtime.SESSIONS_GROUP)],
)
def test_the_overview_sockets_relay_their_groups(logged_in, path, group):
    assert _receive_broadcast(path, _headers(logged_in), group) == FRAGMENT


def test_an_account_socket_relays_that_accounts_group(logged_in):
    account = WhatsAppSessionFactory()
    frame = _receive_broadcast(
        f"/ws/sessions/{account.pk}/", _headers(logged_in), realtime.session_group(account.pk)
    )
    assert frame == FRAGMENT


def test_an_anonymous_socket_is_rejected():
    campaign = CampaignFactory()
    assert not _handshake(f"/ws/campaigns/{campaign.pk}/", _headers())


def test_a_socket_from_a_foreign_origin_is_rejected(logged_in):
    assert not _handshake("/ws/dashboard/", _headers(logged_in, origin="https://evil.example"))


def test_a_socket_for_a_campaign_that_does_not_exist_is_rejected(logged_in):
    assert not _handshake("/ws/campaigns/999999/", _headers(logged_in))


def test_a_deactivated_operator_is_rejected(logged_in, operator):
    operator.is_active = False
    operator.save()
    assert not _handshake("/ws/dashboard/", _headers(logged_in))


def test_a_socket_idle_longer_than_the_layers_blocking_read_stays_open(logged_in):
    # The consumer's 5 s blocking pop on Redis must not time out and close the page's socket.
    frame = _receive_broadcast(
        "/ws/dashboard/", _headers(logged_in), realtime.DASHBOARD_GROUP, idle=7
    )
    assert frame == FRAGMENT


def _closed_after(path, headers, action):
    """Connect to `path`, run `action` (sync), and return whether the server closed the socket."""

    async def run():
        communicator = _communicator(path, headers)
        connected, _ = await communicator.connect(timeout=5)
        assert connected
        await sync_to_async(action)()
        try:
            output = await communicator.receive_output(timeout=5)
        finally:
            await communicator.disconnect()
        return output["type"] == "websocket.close"

    return async_to_sync(run)()


def test_logging_out_closes_the_users_sockets(logged_in):
    headers = _headers(logged_in)
    assert _closed_after("/ws/dashboard/", headers, lambda: logged_in.post(reverse("logout")))


def test_deactivating_a_user_closes_their_sockets(logged_in, operator):
    def deactivate():
        operator.is_active = False
        operator.save()

    assert _closed_after("/ws/sessions/", _headers(logged_in), deactivate)


def test_a_session_that_ended_closes_its_sockets(logged_in):
    key = logged_in.session.session_key

    def end_session():
        Session.objects.filter(session_key=key).update(expire_date=timezone.now())
        assert sessions_end_expired() == 1

    campaign = CampaignFactory()
    assert _closed_after(f"/ws/campaigns/{campaign.pk}/", _headers(logged_in), end_session)
    assert not Session.objects.filter(session_key=key).exists()


@pytest.mark.parametrize(
    ("path", "role", "accepted"),
    [
        ("/ws/campaigns/{campaign}/", None, False),
        ("/ws/campaigns/{campaign}/", roles.VIEWER, True),
        ("/ws/sessions/{account}/", None, False),
        ("/ws/sessions/{account}/", roles.VIEWER, True),
        ("/ws/sessions/", None, False),
        ("/ws/dashboard/", None, True),
    ],
)
def test_a_socket_joins_a_group_only_with_the_permission_it_needs(client, path, role, accepted):
    client.force_login(role_user(role))
    url = path.format(campaign=CampaignFactory().pk, account=WhatsAppSessionFactory().pk)
    assert _handshake(url, _headers(client)) is accepted


@pytest.mark.parametrize("path", ["/ws/nowhere/", "/ws/campaigns/abc/", "/ws/"])
def test_an_unknown_socket_path_is_closed_cleanly(logged_in, path):
    assert not _handshake(path, _headers(logged_in))
