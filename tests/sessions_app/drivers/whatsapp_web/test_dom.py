"""The selenium driver's DOM strategy against the WhatsApp Web replica, in headless Chromium."""

import json
import os
import socket
import subprocess

import psutil
import pytest
from django.core.exceptions import ImproperlyConfigured
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from sessions_app.drivers.base import (
    AccountRestricted,
    Ack,
    AckStatus,
    DriverState,
    NotOnWhatsApp,
    SendError,
    SendOutcomeUnknown,
)
from sessions_app.drivers.whatsapp_web import (
    CHROMIUM_FLAGS,
    end_stale_browser,
    load_selectors,
)
from tests.conftest import wait_until
from tests.sessions_app.conftest import link


def test_it_shows_the_qr_string_of_the_login_screen_and_connects_once_scanned(
    start_driver, replica
):
    driver = start_driver()

    assert driver.state() == DriverState.WAITING_QR
    payload = wait_until(driver.qr_payload)
    assert payload == replica.current_qr()
    assert payload.startswith("2@")
    assert payload.count(",") == 3

    assert replica.scan(payload, phone="+573001230001")
    wait_until(lambda: driver.state() == DriverState.CONNECTED)
    assert driver.account_phone() == "+573001230001"
    assert driver.qr_payload() is None


def test_it_follows_the_qr_as_whatsapp_rotates_it(start_driver, replica, replica_config):
    replica.configure(qr_rotation_seconds=0.5, qr_rotations_before_idle=100)
    driver = start_driver()
    first = wait_until(driver.qr_payload)

    wait_until(lambda: driver.qr_payload() not in (None, first))

    assert not replica.scan(first)
    replica.configure(qr_rotation_seconds=30)
    wait_until(lambda: replica.scan(driver.qr_payload() or ""))
    wait_until(lambda: driver.state() == DriverState.CONNECTED)


def test_it_reloads_an_idle_qr_so_a_fresh_one_can_be_scanned(start_driver, replica, replica_config):
    replica.configure(qr_rotation_seconds=0.2, qr_rotations_before_idle=2)
    driver = start_driver()
    wait_until(lambda: any(c.name == "qr_reload" and c.ok for c in driver.doctor()))
    assert replica.current_qr() is None  # nothing scannable while idle
    replica.configure(qr_rotation_seconds=30)

    fresh = driver.qr_payload()

    assert fresh is not None
    assert not any(c.name == "qr_reload" and c.ok for c in driver.doctor())
    assert replica.scan(fresh)
    wait_until(lambda: driver.state() == DriverState.CONNECTED)


def test_a_restarted_browser_on_the_same_profile_is_still_linked_without_a_scan(
    start_driver, replica, tmp_path
):
    profile = tmp_path / "returning"
    driver = start_driver(profile)
    link(driver, replica)
    driver.close()
    scans = replica.scans

    again = start_driver(profile)

    wait_until(lambda: again.state() == DriverState.CONNECTED)
    assert replica.scans == scans


def test_it_presents_itself_as_the_installed_desktop_chrome(linked_driver):
    version = subprocess.run(
        ["/usr/bin/chromium", "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[1]

    user_agent = linked_driver.driver.execute_script("return navigator.userAgent")

    assert "HeadlessChrome" not in user_agent
    assert f"Chrome/{version.split('.')[0]}.0.0.0 " in user_agent
    assert "X11; Linux x86_64" in user_agent


def test_a_missing_chromium_is_reported_naming_the_setting(start_driver):
    with pytest.raises(ImproperlyConfigured, match="CHROME_BINARY /nonexistent/chromium"):
        start_driver(CHROME_BINARY="/nonexistent/chromium")


def test_close_ends_the_chromium_process(start_driver):
    driver = start_driver()
    browser_pid = driver.browser_pid
    assert browser_pid is not None

    driver.close()

    wait_until(lambda: not psutil.pid_exists(browser_pid))


@pytest.mark.parametrize(
    ("phone", "text"),
    [
        ("+573001110001", "Hola Ana, su saldo es 150.000 COP."),
        ("+573001110002", "Primera línea\nSegunda línea\n\nCuarta tras una vacía"),
        ("+573001110003", "Pague hoy 🙏💸 gracias 👍🏽"),
        ("+573001110004", "Señora Peña: ¿acción pendiente? Ça va, Ünïcödé áéíóú ñ"),
        ("+573001110005", ("Mensaje largo con ñ y 😀 " * 200)[:4000]),
    ],
    ids=["plain", "multi-line", "emoji", "accents", "4000-characters"],
)
def test_it_sends_the_exact_text_and_returns_the_whatsapp_message_id(
    linked_driver, replica, phone, text
):
    result = linked_driver.send_text(phone_e164=phone, text=text)

    assert replica.texts_sent_to(phone) == [text]
    assert [m.wa_id for m in replica.sent if m.to == phone.removeprefix("+")] == [
        result.wa_message_id
    ]
    assert result.wa_message_id.startswith(f"true_{phone.removeprefix('+')}@c.us_")


def test_the_replica_compose_box_ignores_text_set_by_script(linked_driver, replica):
    linked_driver.send_text(phone_e164="+573001110010", text="first")
    browser = linked_driver.driver
    box = browser.find_element(By.CSS_SELECTOR, 'footer div[contenteditable="true"]')

    browser.execute_script("arguments[0].innerText = 'typed by a script';", box)
    box.send_keys(Keys.ENTER)
    linked_driver.send_text(phone_e164="+573001110010", text="second")

    assert replica.texts_sent_to("+573001110010") == ["first", "second"]


def test_it_reports_a_number_not_on_whatsapp_as_permanent(linked_driver, replica):
    replica.declare_unknown("+573009990000")

    with pytest.raises(NotOnWhatsApp) as raised:
        linked_driver.send_text(phone_e164="+573009990000", text="Hola")

    assert raised.value.permanent
    assert replica.texts_sent_to("+573009990000") == []
    # The dialog is dismissed: the next send works.
    linked_driver.send_text(phone_e164="+573001110020", text="sigue")
    assert replica.texts_sent_to("+573001110020") == ["sigue"]


def test_it_reports_acks_as_they_progress(linked_driver, replica, replica_config):
    replica.configure(delivered_after=None, read_after=None)
    result = linked_driver.send_text(phone_e164="+573001110030", text="ack me")

    def statuses():
        # Other tests' messages share the browser: look at this one only.
        return [
            a.status for a in linked_driver.poll_acks() if a.wa_message_id == result.wa_message_id
        ]

    assert statuses() == []
    replica.configure(delivered_after=0)
    delivered = wait_until(statuses)
    replica.configure(read_after=0)
    read = wait_until(statuses)

    assert delivered == [AckStatus.DELIVERED]
    assert read == [AckStatus.READ]
    assert statuses() == []


def test_it_reports_acks_of_messages_whose_chat_is_no_longer_open(
    linked_driver, replica, replica_config
):
    replica.configure(delivered_after=None, read_after=None)
    earlier = linked_driver.send_text(phone_e164="+573001110040", text="to the first chat")
    linked_driver.send_text(phone_e164="+573001110041", text="to another chat")
    replica.configure(delivered_after=0, read_after=0)

    acks = wait_until(
        lambda: [a for a in linked_driver.poll_acks() if a.wa_message_id == earlier.wa_message_id]
    )

    assert acks[-1].status == AckStatus.READ


def test_a_message_that_never_leaves_the_compose_box_is_a_temporary_error(
    linked_driver, replica, replica_config
):
    replica.configure(sending_blocked=True)
    linked_driver.send_timeout = 1.5
    try:
        with pytest.raises(SendError) as raised:
            linked_driver.send_text(phone_e164="+573001110055", text="frozen")
    finally:
        linked_driver.send_timeout = 10
    replica.configure(sending_blocked=False)

    assert not raised.value.permanent
    assert replica.texts_sent_to("+573001110055") == []
    # The unsent text was cleared, so it does not ride along with the retry.
    linked_driver.send_text(phone_e164="+573001110055", text="retried")
    assert replica.texts_sent_to("+573001110055") == ["retried"]


def test_a_message_that_never_leaves_pending_has_an_unknown_outcome_so_it_is_never_resent(
    linked_driver, replica, replica_config
):
    replica.configure(sent_after=None)
    linked_driver.send_timeout = 1.5
    try:
        with pytest.raises(SendOutcomeUnknown) as raised:
            linked_driver.send_text(phone_e164="+573001110050", text="stuck")
    finally:
        linked_driver.send_timeout = 10
    assert raised.value.permanent
    assert "did not confirm" in raised.value.reason
    assert replica.texts_sent_to("+573001110050") == ["stuck"]
    # It is followed all the same: once WhatsApp gets it through, its receipts arrive.
    wa_id = raised.value.wa_message_id
    assert wa_id.startswith("true_573001110050@")
    replica.configure(sent_after=0.1)
    wait_until(
        lambda: Ack(wa_id, AckStatus.READ) in linked_driver.poll_acks(),
        message="the unconfirmed message's receipt never came",
    )


def test_it_sees_incoming_messages_of_unread_chats_once(linked_driver, replica):
    replica.receive(from_phone="+573005550001", text="Ya pagué ✅\nSTOP")
    replica.receive(from_phone="+573005550001", text="gracias")

    incoming = wait_until(linked_driver.poll_incoming)

    assert [(m.phone_e164, m.text) for m in incoming] == [
        ("+573005550001", "Ya pagué ✅\nSTOP"),
        ("+573005550001", "gracias"),
    ]
    assert linked_driver.poll_incoming() == []


def test_it_detects_a_remote_logout_and_refuses_to_send_as_temporary(start_driver, replica):
    driver = start_driver()
    link(driver, replica, phone="+573001230002")

    replica.remote_logout("+573001230002")

    wait_until(lambda: driver.state() == DriverState.LOGGED_OUT)
    with pytest.raises(SendError) as raised:
        driver.send_text(phone_e164="+573001110060", text="Hola")
    assert not raised.value.permanent


def test_logout_unlinks_the_device_through_the_menu(start_driver, replica):
    driver = start_driver()
    link(driver, replica, phone="+573001230003")

    driver.logout()

    assert replica.linked_devices("+573001230003") == 0
    assert driver.state() in (DriverState.LOGGED_OUT, DriverState.WAITING_QR)


def test_it_ends_a_stale_chromium_holding_the_profile_by_its_pid(start_driver, tmp_path, db):
    profile = tmp_path / "stale"
    stale = subprocess.Popen(
        ["/usr/bin/chromium", *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: (profile / "SingletonLock").is_symlink())

        driver = start_driver(profile)

        assert stale.wait(timeout=20) is not None
        assert driver.state() == DriverState.WAITING_QR
    finally:
        if stale.poll() is None:
            stale.kill()
            stale.wait()


def test_it_leaves_alone_a_live_process_that_does_not_hold_the_profile(tmp_path):
    profile = tmp_path / "recycled-pid"
    profile.mkdir()
    (profile / "SingletonLock").symlink_to(f"{socket.gethostname()}-{os.getpid()}")

    assert end_stale_browser(profile) is None
    assert psutil.pid_exists(os.getpid())


def test_an_override_file_replaces_only_the_keys_it_names(tmp_path):
    override = tmp_path / "selectors.json"
    override.write_text(json.dumps({"selectors": {"compose_box": ["div.new-composer"]}}))

    selectors = load_selectors(override)

    assert selectors.css("compose_box") == ["div.new-composer"]
    assert selectors.css("chat_list") == load_selectors().css("chat_list")


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"selectors": {"compose_bx": ["x"]}}, "selectors.compose_bx"),
        ({"selector": {}}, "selector"),
        ({"selectors": {"chat_list": "#pane-side"}}, "selectors.chat_list"),
        ({"attributes": {"message_id": ""}}, "attributes.message_id"),
    ],
)
def test_an_override_file_with_a_bad_key_is_refused_naming_the_key(tmp_path, override, named):
    path = tmp_path / "selectors.json"
    path.write_text(json.dumps(override))

    with pytest.raises(ImproperlyConfigured, match=f"'{named}'"):
        load_selectors(path)


def test_the_driver_uses_the_operators_selectors_file_and_doctor_checks_it(start_driver, tmp_path):
    override = tmp_path / "selectors.json"
    override.write_text(
        json.dumps(
            {
                "selectors": {
                    "qr_container": ["[data-ref]", "canvas[aria-label]", "div["],
                    "chat_list": ["#gone"],
                }
            }
        )
    )
    driver = start_driver(WHATSAPP_SELECTORS_FILE=str(override))
    wait_until(driver.qr_payload)

    checks = {(c.name, c.selector): c.matches for c in driver.doctor()}

    assert checks[("qr_container", "canvas[aria-label]")] == 1
    assert checks[("qr_container", "div[")] == -1
    assert checks[("chat_list", "#gone")] == 0
    assert ("chat_list", "#pane-side") not in checks
    assert checks[("startup", "#wa_web_initial_startup")] == 0


def test_doctor_reports_which_selectors_match_the_open_chat(linked_driver):
    linked_driver.send_text(phone_e164="+573001110070", text="doctor")

    matching = {c.name for c in linked_driver.doctor() if c.ok}

    assert {"chat_list", "chat_row", "compose_box", "message_bubble", "status_icon"} <= matching
    assert "qr_container" not in matching
    assert "invalid_number_ok" not in matching


def test_it_sends_and_tells_invalid_numbers_on_a_page_in_spanish(
    start_driver, replica, replica_config
):
    replica.configure(language="es")
    driver = start_driver()
    link(driver, replica, phone="+573001230010")
    replica.declare_unknown("+573009990001")

    driver.send_text(phone_e164="+573001110080", text="Hola en español")
    with pytest.raises(NotOnWhatsApp):
        driver.send_text(phone_e164="+573009990001", text="Hola")

    assert replica.texts_sent_to("+573001110080") == ["Hola en español"]
    assert driver.driver.find_elements(By.CSS_SELECTOR, 'footer [aria-label="Send"]') == []


def test_in_lid_chats_it_learns_the_lid_and_reads_replies_from_it(
    start_driver, replica, replica_config
):
    replica.configure(lid_chats=True)
    driver = start_driver()
    link(driver, replica, phone="+573001230011")

    result = driver.send_text(phone_e164="+573001110090", text="Hola")
    driver.send_text(phone_e164="+573001110091", text="Hola")  # its chat is no longer open
    replica.receive(from_phone="+573001110090", text="STOP")
    incoming = wait_until(driver.poll_incoming)

    lid = replica.lid_of("+573001110090")
    assert result.lid == lid
    assert result.wa_message_id.startswith(f"true_{lid}_")
    assert [(m.phone_e164, m.lid, m.text) for m in incoming] == [("", lid, "STOP")]


def test_a_chat_whose_compose_bar_is_a_restriction_notice_restricts_the_account(
    start_driver, replica, replica_config
):
    driver = start_driver()
    link(driver, replica, phone="+573001230012")
    replica.configure(timelocked=("573001230012",))

    with pytest.raises(AccountRestricted) as raised:
        driver.send_text(phone_e164="+573001110100", text="Hola")

    assert not raised.value.sent
    assert "You can't message this account" in raised.value.reason
    assert driver.state() == DriverState.RESTRICTED
    assert replica.texts_sent_to("+573001110100") == []


def test_chromium_hides_that_it_is_automated(linked_driver):
    assert linked_driver.driver.execute_script("return navigator.webdriver") is False
