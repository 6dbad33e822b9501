import pytest

from api.services import api_key_create
from sessions_app.drivers.base import DriverState
from sessions_app.models import SessionStatus, WhatsAppSession
from sessions_app.services import session_host_acquire, session_record_state
from sessions_app.services.requests import session_record_pairing_code
from tests.api.conftest import KeyClient
from tests.conftest import wait_until
from tests.factories import WhatsAppSessionFactory


@pytest.fixture(autouse=True)
def _heartbeats_stay_fresh(settings):
    # No host beats for these accounts: the one written when taken must last the test.
    settings.HOST_STALE_SECONDS = 600


def _on_the_login_screen():
    acquired = session_host_acquire(session_id=WhatsAppSessionFactory(should_run=True).pk)
    assert acquired is not None
    session, token = acquired
    session_record_state(
        session=session, token=token, state=DriverState.WAITING_QR, qr_payload="2@x"
    )
    return WhatsAppSession.objects.get(pk=session.pk)


def test_a_pairing_code_is_asked_for_then_answered_once_the_host_has_it(api, settings):
    settings.DEFAULT_PHONE_REGION = "CO"
    session = _on_the_login_screen()
    url = f"/api/v1/accounts/{session.pk}/pairing-code/"

    asked = api.post_json(url, {"phone": "300 123 4567"})
    assert asked.status_code == 202, asked.content
    assert asked.json() == {"phone": "+573001234567", "code": None, "code_at": None}
    assert asked["Location"].endswith(url)
    assert api.get(url).status_code == 202

    session_record_pairing_code(session=session, token=session.host_token, code="K4T29QXM")

    answered = api.get(url)
    assert answered.status_code == 200
    assert answered.json()["code"] == "K4T29QXM"
    assert answered.json()["phone"] == "+573001234567"


def test_a_number_that_is_not_a_phone_is_refused_like_in_the_import(api):
    session = _on_the_login_screen()

    response = api.post_json(f"/api/v1/accounts/{session.pk}/pairing-code/", {"phone": "12"})

    assert response.status_code == 422
    assert "phone" in response.json()["errors"]
    assert WhatsAppSession.objects.get(pk=session.pk).pairing_phone == ""


@pytest.mark.parametrize("held", [True, False])
def test_an_account_not_waiting_to_be_linked_answers_409(api, held):
    session = _on_the_login_screen()
    if held:
        session_record_state(
            session=session, token=session.host_token, state=DriverState.CONNECTED, qr_payload=None
        )
    else:
        WhatsAppSession.objects.filter(pk=session.pk).update(heartbeat_at=None)

    response = api.post_json(
        f"/api/v1/accounts/{session.pk}/pairing-code/", {"phone": "+573001234567"}
    )

    assert response.status_code == 409
    assert response.headers["Content-Type"] == "application/problem+json"
    expected = SessionStatus.CONNECTED if held else SessionStatus.WAITING_QR
    assert response.json()["current_status"] == expected


def test_the_reason_the_driver_gave_no_code_is_a_409(api):
    session = _on_the_login_screen()
    url = f"/api/v1/accounts/{session.pk}/pairing-code/"
    assert api.get(url).json()["detail"] == "No pairing code was asked for."
    api.post_json(url, {"phone": "+573001234567"})

    session_record_pairing_code(
        session=session, token=session.host_token, error="this client cannot ask"
    )

    response = api.get(url)
    assert response.status_code == 409
    assert "this client cannot ask" in response.json()["detail"]


def test_a_read_key_cannot_ask_for_a_code(key_owner):
    _, secret = api_key_create(user=key_owner, name="reader", scope="read")
    session = _on_the_login_screen()

    response = KeyClient(secret).post_json(
        f"/api/v1/accounts/{session.pk}/pairing-code/", {"phone": "+573001234567"}
    )

    assert response.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_a_connecting_account_gets_its_code_from_its_host(celery_worker, write_key):
    api = KeyClient(write_key)
    session = WhatsAppSessionFactory()
    assert api.post_json(f"/api/v1/accounts/{session.pk}/connect/").status_code == 200
    url = f"/api/v1/accounts/{session.pk}/pairing-code/"
    try:
        wait_until(
            lambda: WhatsAppSession.objects.get(pk=session.pk).qr_payload,
            message="the host never showed the login screen",
        )
        assert api.post_json(url, {"phone": "+573001239101"}).status_code == 202

        answered = wait_until(
            lambda: (r := api.get(url)).status_code == 200 and r, message="no pairing code"
        )

        assert len(answered.json()["code"]) == 8
    finally:
        WhatsAppSession.objects.update(should_run=False)
        wait_until(
            lambda: not WhatsAppSession.objects.exclude(host_token="").exists(),
            message="the session host did not stop",
        )
