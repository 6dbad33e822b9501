"""The wa-js strategy on the replica, with the wa-js stand-in, in real headless Chromium."""

import pytest

from sessions_app.drivers.base import (
    AccountRestricted,
    AckStatus,
    DriverState,
    NumberUnconfirmed,
    PairingUnavailable,
)
from tests.conftest import wait_until
from tests.sessions_app.conftest import link


def page_marker(driver, value=None):
    """A value kept on the page's window: it survives everything but a reload."""
    if value is not None:
        driver.driver.execute_script("window.__testMarker = arguments[0];", value)
    return driver.driver.execute_script("return window.__testMarker || null;")


def test_it_links_by_scanning_the_qr_code_of_wajs(start_driver, replica):
    driver = start_driver(wajs=True)

    assert driver.strategy == "wajs"
    assert driver.state() == DriverState.WAITING_QR
    payload = wait_until(driver.qr_payload)
    assert payload == replica.current_qr()

    assert replica.scan(payload, phone="+573001239001")
    wait_until(lambda: driver.state() == DriverState.CONNECTED)
    assert driver.account_phone() == "+573001239001"


def test_it_links_by_the_pairing_code_typed_on_the_phone(start_driver, replica):
    driver = start_driver(wajs=True)
    wait_until(lambda: driver.state() == DriverState.WAITING_QR)

    code = driver.pairing_code(phone_e164="+573001239002")

    assert len(code) == 8
    assert code.isalnum()
    assert replica.enter_pairing_code(code)
    wait_until(lambda: driver.state() == DriverState.CONNECTED)
    assert driver.account_phone() == "+573001239002"
    with pytest.raises(PairingUnavailable):
        driver.pairing_code(phone_e164="+573001239002")


@pytest.mark.parametrize(
    ("phone", "text"),
    [
        ("+573002220001", "Hola Ana, su saldo es 150.000 COP."),
        ("+573002220002", "Primera línea\nSegunda línea\n\nCuarta tras una vacía"),
        ("+573002220003", "Pague hoy 🙏💸 gracias 👍🏽"),
        ("+573002220004", "Señora Peña: ¿acción pendiente? Ça va, Ünïcödé áéíóú ñ"),
        ("+573002220005", ("Mensaje largo con ñ y 😀 " * 200)[:4000]),
    ],
    ids=["plain", "multi-line", "emoji", "accents", "4000-characters"],
)
def test_it_sends_the_exact_text_under_the_prepared_id_without_reload_or_read_receipt(
    linked_wajs_driver, replica, phone, text
):
    # The debtor wrote first: opening the chat would send them a read receipt.
    replica.receive(from_phone=phone, text="¿Cuánto debo?")
    page_marker(linked_wajs_driver, phone)

    prepared = linked_wajs_driver.prepare_send(phone_e164=phone)
    result = linked_wajs_driver.send_text(phone_e164=phone, text=text, message_id=prepared)

    assert result.wa_message_id == prepared
    assert prepared.startswith(f"true_{phone.removeprefix('+')}@c.us_")
    assert replica.texts_sent_to(phone) == [text]
    assert page_marker(linked_wajs_driver) == phone
    assert phone.removeprefix("+") not in replica.read_receipts


def test_it_reports_acks_queued_in_the_page_as_they_progress(
    linked_wajs_driver, replica, replica_config
):
    replica.configure(delivered_after=None, read_after=None)
    result = linked_wajs_driver.send_text(phone_e164="+573002220010", text="ack me")

    def statuses():
        # WhatsApp also reports the server's own ack (sent), whenever it comes: not this test's.
        return [
            a.status
            for a in linked_wajs_driver.poll_acks()
            if a.wa_message_id == result.wa_message_id and a.status != AckStatus.SENT
        ]

    assert statuses() == []
    replica.configure(delivered_after=0)
    delivered = wait_until(statuses)
    replica.configure(read_after=0)
    read = wait_until(statuses)

    assert delivered == [AckStatus.DELIVERED]
    assert read == [AckStatus.READ]


def test_a_sent_message_is_found_again_by_its_id(linked_wajs_driver):
    result = linked_wajs_driver.send_text(phone_e164="+573002220020", text="find me")

    found = linked_wajs_driver.find_sent(wa_message_id=result.wa_message_id)
    missing = linked_wajs_driver.find_sent(
        wa_message_id="true_573002220020@c.us_3EB0000000000000DEAD"
    )

    assert found.status in (AckStatus.SENT, AckStatus.DELIVERED, AckStatus.READ)
    assert missing.status is None
    assert "no message with this id" in missing.evidence


def test_the_number_check_answers_yes_with_the_lid_and_never_a_sure_no(
    linked_wajs_driver, replica, replica_config
):
    known = linked_wajs_driver.check_number(phone_e164="+573002220030")
    replica.declare_unknown("+573002220031")
    with pytest.raises(NumberUnconfirmed) as absent:
        linked_wajs_driver.check_number(phone_e164="+573002220031")
    replica.configure(number_check_down=True)
    with pytest.raises(NumberUnconfirmed) as down:
        linked_wajs_driver.check_number(phone_e164="+573002220032")

    assert known.on_whatsapp
    assert known.lid == replica.lid_of("+573002220030")
    assert not absent.value.permanent
    assert not down.value.permanent


def test_a_reply_from_a_lid_sender_carries_its_lid_and_its_number(linked_wajs_driver, replica):
    replica.receive(from_phone="+573002220040", text="STOP", lid=True)

    def from_it():
        # Other tests' debtors wrote to the shared browser too.
        return [m for m in linked_wajs_driver.poll_incoming() if m.text == "STOP"]

    incoming = wait_until(from_it)

    assert [(m.phone_e164, m.lid, m.text) for m in incoming] == [
        ("+573002220040", replica.lid_of("+573002220040"), "STOP")
    ]
    assert "573002220040" not in replica.read_receipts


@pytest.mark.parametrize(
    ("mode", "state"),
    [
        ("TOS_BLOCK", DriverState.BANNED),
        ("SMB_TOS_BLOCK", DriverState.BANNED),
        ("SYNCING", DriverState.SYNCING),
        ("OFFLINE", DriverState.OFFLINE),
        ("DEPRECATED_VERSION", DriverState.NEEDS_UPDATE),
    ],
)
def test_it_tells_the_stream_modes_apart(linked_wajs_driver, replica, replica_config, mode, state):
    replica.configure(stream_mode=mode)

    wait_until(lambda: linked_wajs_driver.state() == state)
    replica.configure(stream_mode="MAIN")
    wait_until(lambda: linked_wajs_driver.state() == DriverState.CONNECTED)


def test_use_here_takes_the_account_back_from_another_window(
    linked_wajs_driver, replica, replica_config
):
    replica.configure(stream_mode="CONFLICT")
    wait_until(lambda: linked_wajs_driver.state() == DriverState.CONFLICT)

    linked_wajs_driver.take_over()

    wait_until(lambda: linked_wajs_driver.state() == DriverState.CONNECTED)


def test_the_timelock_refuses_new_chats_and_restricts_the_account(
    start_driver, replica, replica_config
):
    driver = start_driver(wajs=True)
    link(driver, replica, phone="+573001239003")
    replica.configure(timelocked=("573001239003",))

    with pytest.raises(AccountRestricted) as raised:
        driver.send_text(phone_e164="+573002220050", text="Hola")

    assert not raised.value.sent
    assert replica.texts_sent_to("+573002220050") == []
    assert driver.state() == DriverState.RESTRICTED
    assert "463" in driver.restriction().reason


def test_a_remote_logout_is_seen_with_its_reason(start_driver, replica):
    driver = start_driver(wajs=True)
    link(driver, replica, phone="+573001239004")

    replica.remote_logout("+573001239004", reason="account_sync_timeout")

    wait_until(lambda: driver.state() == DriverState.LOGGED_OUT)
    assert driver.logout_reason() == "account_sync_timeout"


def test_logout_unlinks_the_device_through_wajs(start_driver, replica):
    driver = start_driver(wajs=True)
    link(driver, replica, phone="+573001239005")

    driver.logout()

    assert replica.linked_devices("+573001239005") == 0
    wait_until(lambda: driver.state() == DriverState.LOGGED_OUT)


def test_the_real_bundle_loads_under_the_csp_but_never_gets_ready_so_auto_uses_the_dom(
    start_driver, replica
):
    driver = start_driver(
        WHATSAPP_STRATEGY="auto", WHATSAPP_WAJS_FILE="", WHATSAPP_WAJS_READY_TIMEOUT=3
    )

    loaded = driver.driver.execute_script(
        "return [typeof window.WPP, window.WPP && window.WPP.isReady, window.WPP.version];"
    )

    assert loaded == ["object", False, "4.6.0"]
    assert driver.strategy == "dom"
    assert "wa-js did not become ready within 3 s" in driver.strategy_detail
    assert driver.state() == DriverState.WAITING_QR
    assert wait_until(driver.qr_payload) == replica.current_qr()


def test_a_reply_carries_its_whatsapp_id_and_the_chat_is_read_only_when_asked(
    linked_wajs_driver, replica
):
    wa_id = replica.receive(from_phone="+573002220050", text="¿Cuánto debo?")

    def from_it():
        return [m for m in linked_wajs_driver.poll_incoming() if m.text == "¿Cuánto debo?"]

    incoming = wait_until(from_it)
    assert [(m.wa_message_id, m.media) for m in incoming] == [(wa_id, "")]
    assert "573002220050" not in replica.read_receipts
    linked_wajs_driver.mark_read(phone_e164="+573002220050")
    assert "573002220050" in replica.read_receipts
