"""What the session host records of WhatsApp's states, and the operator's requests to it."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.models import Message, MessageStatus
from campaigns.services import campaign_start
from sessions_app.drivers.base import DriverState, Restriction
from sessions_app.models import PoolStrategy, SessionStatus, WhatsAppSession
from sessions_app.services import session_host_acquire, session_record_state
from sessions_app.services.requests import (
    session_host_requests,
    session_record_pairing_code,
    session_request_pairing_code,
    session_request_takeover,
)
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    PoolFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
)

pytestmark = pytest.mark.django_db


def _held(**fields):
    session = WhatsAppSessionFactory(should_run=True, **fields)
    acquired = session_host_acquire(session_id=session.pk)
    assert acquired is not None
    return acquired


def _fixed_turns(*accounts, debtors=6):
    pool = PoolFactory(strategy=PoolStrategy.FIXED_TURNS)
    for position, account in enumerate(accounts):
        PoolMemberFactory(pool=pool, session=account, position=position)
    DebtorFactory.create_batch(debtors)
    return campaign_start(campaign=CampaignFactory(pool=pool))


def _assigned(session):
    return Message.objects.filter(assigned_session=session, status=MessageStatus.PENDING).count()


@pytest.mark.parametrize("state", [DriverState.RESTRICTED, DriverState.CONFLICT])
def test_a_restricted_or_conflicted_account_hands_its_turns_to_the_pool(state):
    (session, token), (other, _other_token) = _held(), _held()
    for account in (session, other):
        session_record_state(
            session=account,
            token=WhatsAppSession.objects.get(pk=account.pk).host_token,
            state=DriverState.CONNECTED,
            qr_payload=None,
        )
    _fixed_turns(session, other)
    assert _assigned(session) == 3
    since = timezone.now()

    session_record_state(
        session=session,
        token=token,
        state=state,
        qr_payload=None,
        restriction=Restriction(reason="ack -1 (463)", since=since)
        if state == DriverState.RESTRICTED
        else None,
    )

    session.refresh_from_db()
    assert _assigned(session) == 0
    assert _assigned(other) == 6
    assert session.should_run  # the host stays: acks and replies keep coming
    if state == DriverState.RESTRICTED:
        assert session.status == SessionStatus.RESTRICTED
        assert session.restriction_reason == "ack -1 (463)"
        assert session.restricted_since == since
        assert "warm the number up" in session.status_detail
    else:
        assert session.status == SessionStatus.DISCONNECTED
        assert session.in_conflict
        assert "Use here" in session.status_detail


def test_a_banned_account_stops_and_says_what_to_do():
    session, token = _held()

    session_record_state(session=session, token=token, state=DriverState.BANNED, qr_payload=None)

    session.refresh_from_db()
    assert session.status == SessionStatus.BANNED
    assert not session.should_run
    assert "Request a review" in session.status_detail


def test_syncing_keeps_the_account_in_its_pools_and_says_sends_wait():
    session, token = _held()

    session_record_state(session=session, token=token, state=DriverState.SYNCING, qr_payload=None)

    session.refresh_from_db()
    assert session.status == SessionStatus.CONNECTED
    assert "sends wait" in session.status_detail


def test_a_remote_logout_records_whatsapps_reason():
    session, token = _held()

    session_record_state(
        session=session,
        token=token,
        state=DriverState.LOGGED_OUT,
        qr_payload=None,
        logout_reason="account_sync_timeout",
    )

    session.refresh_from_db()
    assert session.status == SessionStatus.LOGGED_OUT
    assert session.logout_reason == "account_sync_timeout"
    assert "account_sync_timeout" in session.status_detail


def test_the_own_number_is_stored_once_linked():
    session, token = _held()

    session_record_state(
        session=session,
        token=token,
        state=DriverState.CONNECTED,
        qr_payload=None,
        account_phone="+573001112233",
    )

    session.refresh_from_db()
    assert session.phone_e164 == "+573001112233"


def test_use_here_is_asked_only_of_an_account_open_in_another_window():
    session, token = _held()
    with pytest.raises(ValidationError):
        session_request_takeover(session=session)
    session_record_state(session=session, token=token, state=DriverState.CONFLICT, qr_payload=None)

    session_request_takeover(session=session)

    assert session_host_requests(session=session).takeover


def test_a_pairing_code_is_asked_for_a_valid_number_on_the_login_screen(settings):
    settings.DEFAULT_PHONE_REGION = "CO"
    session, token = _held()
    session_record_state(
        session=session, token=token, state=DriverState.WAITING_QR, qr_payload="2@x"
    )
    with pytest.raises(ValidationError) as bad:
        session_request_pairing_code(session=session, phone="12")
    assert "phone" in bad.value.message_dict

    session_request_pairing_code(session=session, phone="300 123 4567")
    assert session_host_requests(session=session).pairing_phone == "+573001234567"
    session_record_pairing_code(session=session, token=token, code="K4T29QXM")

    session.refresh_from_db()
    assert session.pairing_code == "K4T29QXM"
    # Shown once: the host does not ask WhatsApp again for the same request.
    assert session_host_requests(session=session).pairing_phone == ""
