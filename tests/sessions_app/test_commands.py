"""`manage.py whatsapp NAME ...` against the replica: real processes, exit codes and output."""

import datetime
import io
import os
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone

from sessions_app.drivers import profile_dir_for
from sessions_app.drivers.base import DriverState
from sessions_app.drivers.whatsapp_web import SeleniumDriver
from sessions_app.models import SessionStatus, WhatsAppSession
from tests.conftest import wait_until
from tests.factories import WhatsAppSessionFactory
from tests.sessions_app.conftest import WAJS_STANDIN, link

BASE_DIR = Path(__file__).resolve().parents[2]
QR_HEADER = "Scan with WhatsApp on the phone"

# The CLI runs in its own process and only sees committed rows.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def cli_settings(settings, replica, tmp_path):
    settings.WHATSAPP_DRIVER = "selenium"
    settings.WHATSAPP_WEB_URL = replica.url
    settings.WHATSAPP_PROFILES_DIR = tmp_path / "profiles"
    settings.WHATSAPP_SELECTORS_FILE = ""
    settings.WHATSAPP_PAGE_TIMEOUT = 15
    settings.WHATSAPP_SEND_TIMEOUT = 10
    settings.WHATSAPP_STRATEGY = "dom"
    return settings


@pytest.fixture
def cli_env(cli_settings) -> dict[str, str]:
    database = urlsplit(os.environ["DATABASE_URL"])
    return {
        **os.environ,
        "DATABASE_URL": urlunsplit(database._replace(path=f"/{connection.settings_dict['NAME']}")),
        "DB_CONN_MAX_AGE": "0",
        "WHATSAPP_DRIVER": "selenium",
        "WHATSAPP_WEB_URL": cli_settings.WHATSAPP_WEB_URL,
        "WHATSAPP_PROFILES_DIR": str(cli_settings.WHATSAPP_PROFILES_DIR),
        "WHATSAPP_PAGE_TIMEOUT": "15",
        "WHATSAPP_SEND_TIMEOUT": "10",
        "WHATSAPP_STRATEGY": "dom",
        "PYTHONUNBUFFERED": "1",
    }


def cli(*args: str) -> list[str]:
    return [sys.executable, "manage.py", "whatsapp", *args]


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cli(*args), cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def linked_session(cli_settings, replica):
    session = WhatsAppSessionFactory()
    driver = SeleniumDriver(profile_dir=profile_dir_for(session_id=session.pk))
    driver.start()
    try:
        link(driver, replica, phone=linked_phone(session))
    finally:
        driver.close()
    return session


def linked_phone(session: WhatsAppSession) -> str:
    """Each linked account its own number, so tests can tell their devices apart."""
    return f"+5730000{session.pk:05d}"


def test_send_prints_the_message_id_and_exits_0(cli_env, linked_session, replica):
    text = "Hola Ñandú 😀\nsu cuota vence mañana"

    done = run_cli(cli_env, linked_session.name, "send", "--to", "300 111 2222", "--text", text)

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().startswith("sent true_573001112222@c.us_")
    assert replica.texts_sent_to("+573001112222") == [text]


def test_send_to_a_number_not_on_whatsapp_prints_it_and_exits_3(cli_env, linked_session, replica):
    replica.declare_unknown("+573001110000")

    done = run_cli(cli_env, linked_session.name, "send", "--to", "+573001110000", "--text", "Hola")

    assert done.returncode == 3
    assert done.stdout.strip() == "not_on_whatsapp"
    assert replica.texts_sent_to("+573001110000") == []


def test_send_from_an_account_that_is_not_linked_prints_an_error_and_exits_1(cli_env):
    session = WhatsAppSessionFactory()

    done = run_cli(cli_env, session.name, "send", "--to", "3001112222", "--text", "Hola")

    assert done.returncode == 1
    assert done.stdout.strip() == f"error not connected ({DriverState.WAITING_QR})"


def test_send_refuses_an_invalid_phone_number(cli_settings):
    session = WhatsAppSessionFactory()
    out = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("whatsapp", session.name, "send", "--to", "12", "--text", "x", stdout=out)

    assert raised.value.returncode == 1
    assert out.getvalue().strip() == "error invalid phone number"


def test_login_prints_the_qr_as_it_rotates_until_scanned_and_records_the_account(
    cli_env, replica, replica_config
):
    replica.configure(qr_rotation_seconds=1, qr_rotations_before_idle=100)
    process = subprocess.Popen(
        cli("Cobranzas 1", "login", "--timeout", "60"),
        cwd=BASE_DIR,
        env=cli_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    output = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    try:
        wait_until(lambda: sum(QR_HEADER in line for line in output) >= 2, timeout=60)
        replica.configure(qr_rotation_seconds=30)
        # The phone scans what the terminal shows, which the command also records.
        wait_until(lambda: replica.scan(WhatsAppSession.objects.get(name="Cobranzas 1").qr_payload))
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=10)

    assert any("█" in line or "▀" in line or "▄" in line for line in output)
    assert output[-1].strip() == "linked Cobranzas 1 +573000000001"
    session = WhatsAppSession.objects.get(name="Cobranzas 1")
    assert session.status == SessionStatus.CONNECTED
    assert session.phone_e164 == "+573000000001"
    assert session.qr_payload == ""
    assert session.connected_at is not None


@pytest.mark.parametrize(
    "command",
    [
        ["login"],
        ["send", "--to", "3001112222", "--text", "Hola"],
        ["status"],
        ["doctor"],
        ["logout"],
    ],
    ids=lambda command: command[0],
)
def test_every_command_refuses_an_account_a_session_host_holds(cli_settings, command):
    session = WhatsAppSessionFactory(host="browser-1", heartbeat_at=timezone.now())

    with pytest.raises(CommandError, match="held by the session host on browser-1") as raised:
        call_command("whatsapp", session.name, *command, stdout=io.StringIO())

    assert raised.value.returncode == 1
    assert not Path(cli_settings.WHATSAPP_PROFILES_DIR, f"account-{session.pk}").exists()


def test_a_host_whose_heartbeat_stopped_no_longer_holds_the_account(cli_settings):
    session = WhatsAppSessionFactory(
        host="browser-1", heartbeat_at=timezone.now() - datetime.timedelta(minutes=5)
    )
    out = io.StringIO()

    call_command("whatsapp", session.name, "status", stdout=out)

    assert f"live: {DriverState.WAITING_QR}" in out.getvalue()


def test_status_shows_the_recorded_and_the_live_state(linked_session):
    out = io.StringIO()

    call_command("whatsapp", linked_session.name, "status", stdout=out)

    lines = out.getvalue().splitlines()
    assert f"account: {linked_session.name}" in lines
    assert "live: connected" in lines
    assert f"live phone: {linked_phone(linked_session)}" in lines


def test_doctor_lists_which_selectors_match_the_live_page(linked_session):
    out = io.StringIO()

    call_command("whatsapp", linked_session.name, "doctor", stdout=out)

    lines = [" ".join(line.split()) for line in out.getvalue().splitlines()]
    assert lines[0] == "state: connected"
    assert "ok chat_list: #pane-side (1)" in lines
    assert "missing qr_container: [data-ref] (0)" in lines


def test_doctor_says_so_when_the_driver_has_no_selectors(cli_settings):
    cli_settings.WHATSAPP_DRIVER = "sandbox"
    session = WhatsAppSessionFactory()
    out = io.StringIO()

    call_command("whatsapp", session.name, "doctor", stdout=out)

    assert "strategy: sandbox" in out.getvalue()
    assert "the SandboxDriver driver has no selectors to check" in out.getvalue()


@pytest.fixture
def wajs_cli(cli_settings, cli_env):
    """The commands on the wa-js strategy, with the stand-in for the bundle."""
    cli_settings.WHATSAPP_STRATEGY = "wajs"
    cli_settings.WHATSAPP_WAJS_FILE = str(WAJS_STANDIN)
    cli_settings.WHATSAPP_WAJS_READY_TIMEOUT = 15
    return {**cli_env, "WHATSAPP_STRATEGY": "wajs", "WHATSAPP_WAJS_FILE": str(WAJS_STANDIN)}


def test_login_with_a_phone_prints_the_pairing_code_and_links_when_it_is_typed(wajs_cli, replica):
    process = subprocess.Popen(
        cli("Cobranzas 2", "login", "--phone", "300 555 0001", "--timeout", "60"),
        cwd=BASE_DIR,
        env=wajs_cli,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(process.stdout), daemon=True)
    reader.start()
    try:
        line = wait_until(
            lambda: next((x for x in output if x.startswith("pairing code ")), None), timeout=60
        )
        assert replica.enter_pairing_code(line.removeprefix("pairing code ").strip())
        assert process.wait(timeout=60) == 0, process.stderr.read() if process.stderr else ""
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    reader.join(timeout=10)

    assert any("Link with phone number instead" in x for x in output)
    assert output[-1].strip() == "linked Cobranzas 2 +573005550001"
    assert WhatsAppSession.objects.get(name="Cobranzas 2").status == SessionStatus.CONNECTED


def test_doctor_reports_wajs_its_stream_own_id_and_lid_migration(wajs_cli, linked_session):
    out = io.StringIO()

    call_command("whatsapp", linked_session.name, "doctor", stdout=out)

    lines = out.getvalue().splitlines()
    assert "strategy: wajs" in lines
    assert "wa-js: 4.6.0-replica (ready)" in lines
    assert "stream mode: MAIN (NORMAL)" in lines
    assert f"own id: {linked_phone(linked_session).removeprefix('+')}@c.us" in lines
    assert "LID migration: migrated" in lines


def test_canary_prints_one_line_per_step_and_sends_once(wajs_cli, linked_session, replica):
    out = io.StringIO()

    call_command("whatsapp", linked_session.name, "canary", "--to", "3005550002", stdout=out)

    steps = [line.split(":")[0] for line in out.getvalue().splitlines()]
    assert steps == [
        "ok   ready",
        "ok   state",
        "ok   own id",
        "ok   number check",
        "ok   send",
        "ok   ack",
    ]
    assert replica.texts_sent_to("+573005550002") == ["WhatsMassive canary"]


def test_canary_stops_at_the_number_check_when_whatsapp_does_not_confirm_it(
    wajs_cli, linked_session, replica
):
    replica.declare_unknown("+573005550003")
    out = io.StringIO()

    with pytest.raises(CommandError) as raised:
        call_command("whatsapp", linked_session.name, "canary", "--to", "3005550003", stdout=out)

    assert raised.value.returncode == 1
    assert out.getvalue().splitlines()[-1].startswith("FAIL number check:")
    assert replica.texts_sent_to("+573005550003") == []


def test_logout_unlinks_the_device_and_deletes_the_profile(linked_session, replica):
    profile = profile_dir_for(session_id=linked_session.pk)
    out = io.StringIO()

    call_command("whatsapp", linked_session.name, "logout", stdout=out)

    assert not profile.exists()
    assert replica.linked_devices(linked_phone(linked_session)) == 0
    linked_session.refresh_from_db()
    assert linked_session.status == SessionStatus.LOGGED_OUT


def test_commands_other_than_login_need_an_existing_account(cli_settings):
    with pytest.raises(CommandError, match="No WhatsApp account named 'Nadie'"):
        call_command("whatsapp", "Nadie", "status", stdout=io.StringIO())
