import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from sessions_app.drivers import profile_dir_for
from sessions_app.drivers.sandbox import SCAN_MARKER
from sessions_app.models import SessionStatus, WhatsAppSession
from sessions_app.services import (
    session_create,
    session_disconnect,
    session_host_acquire,
    session_logout,
    session_simulate_scan,
    session_update_pacing,
    sessions_supervise,
)
from tests.factories import (
    WhatsAppSessionFactory,
)

pytestmark = pytest.mark.django_db


def test_logging_out_an_account_no_host_holds_deletes_its_profile():
    account = WhatsAppSessionFactory()
    profile = profile_dir_for(session_id=account.pk)
    (profile / "Cookies").write_text("secret")
    WhatsAppSession.objects.filter(pk=account.pk).update(profile_dir=str(profile))
    session_logout(session=WhatsAppSession.objects.get(pk=account.pk))
    account.refresh_from_db()
    assert not profile.exists()
    assert account.status == SessionStatus.LOGGED_OUT
    assert not account.should_run


def test_profiles_are_private_to_our_user():
    account = WhatsAppSessionFactory()
    assert profile_dir_for(session_id=account.pk).stat().st_mode & 0o777 == 0o700


def test_a_second_host_cannot_take_an_account_a_live_host_holds():
    account = WhatsAppSessionFactory(should_run=True)
    assert session_host_acquire(session_id=account.pk) is not None
    assert session_host_acquire(session_id=account.pk) is None


def test_a_host_is_not_started_for_an_account_nobody_wants_connected():
    account = WhatsAppSessionFactory(should_run=False)
    assert session_host_acquire(session_id=account.pk) is None


def test_the_supervisor_restarts_only_hosts_gone_silent(settings):
    settings.HOST_STALE_SECONDS = 60
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    silent = WhatsAppSessionFactory(should_run=True, host_token="x", heartbeat_at=long_ago)
    WhatsAppSessionFactory(should_run=True, host_token="y", heartbeat_at=timezone.now())
    WhatsAppSessionFactory(should_run=False, host_token="", heartbeat_at=long_ago)
    assert sessions_supervise() == [silent.pk]


def test_disconnecting_an_account_no_host_holds_settles_at_once():
    account = WhatsAppSessionFactory(
        should_run=True, status=SessionStatus.WAITING_QR, qr_payload="2@x", host=""
    )
    session_disconnect(session=account)
    account.refresh_from_db()
    assert (account.should_run, account.status) == (False, SessionStatus.DISCONNECTED)
    assert (account.status_detail, account.qr_payload) == ("", "")


def test_disconnecting_waits_for_the_host_that_holds_the_account():
    account = WhatsAppSessionFactory(
        should_run=True,
        status=SessionStatus.CONNECTED,
        host="browser-1",
        heartbeat_at=timezone.now(),
    )
    session_disconnect(session=account)
    account.refresh_from_db()
    assert (account.should_run, account.status) == (False, SessionStatus.CONNECTED)
    assert account.status_detail == "Disconnecting…"


# --- adding accounts and pacing ----------------------------------------------------------


def test_an_account_name_must_be_unique_whatever_its_case():
    WhatsAppSessionFactory(name="Collections 1")
    with pytest.raises(ValidationError) as refused:
        session_create(name="  collections 1 ")
    assert "already exists" in refused.value.message_dict["name"][0]
    assert WhatsAppSession.objects.count() == 1


def test_a_new_account_starts_with_the_safe_pacing():
    account = session_create(name=" Collections 2 ")
    assert account.name == "Collections 2"
    assert account.status == SessionStatus.NEW
    assert (account.min_delay_seconds, account.max_delay_seconds) == (20, 60)
    assert (account.hourly_cap, account.daily_cap) == (60, 400)


PACING = {
    "min_delay_seconds": 30,
    "max_delay_seconds": 90,
    "hourly_cap": 40,
    "daily_cap": 300,
    "active_from": datetime.time(9, 0),
    "active_until": datetime.time(18, 30),
    "time_zone": "America/Lima",
}


def test_pacing_changes_only_the_pacing_columns():
    account = WhatsAppSessionFactory()
    # The host moved the account on since the operator's copy was loaded.
    WhatsAppSession.objects.filter(pk=account.pk).update(status=SessionStatus.CONNECTED)
    session_update_pacing(session=account, **PACING)
    account.refresh_from_db()
    assert account.status == SessionStatus.CONNECTED
    assert {name: getattr(account, name) for name in PACING} == PACING


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"min_delay_seconds": 61, "max_delay_seconds": 60}, "max_delay_seconds"),
        ({"hourly_cap": 0}, "hourly_cap"),
        ({"daily_cap": 0}, "daily_cap"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
    ],
)
def test_pacing_that_makes_no_sense_is_refused_and_nothing_changes(change, field):
    account = WhatsAppSessionFactory()
    before = {name: getattr(account, name) for name in PACING}
    with pytest.raises(ValidationError) as refused:
        session_update_pacing(session=account, **(PACING | change))
    assert list(refused.value.message_dict) == [field]
    account.refresh_from_db()
    assert {name: getattr(account, name) for name in PACING} == before


def test_a_simulated_scan_needs_an_account_waiting_for_one(settings):
    settings.WHATSAPP_DRIVER = "sandbox"
    account = WhatsAppSessionFactory(status=SessionStatus.CONNECTED)
    account.profile_dir = str(profile_dir_for(session_id=account.pk))
    with pytest.raises(ValueError, match="waiting for a scan"):
        session_simulate_scan(session=account)


def test_a_simulated_scan_marks_the_profile_as_the_phone_would(settings):
    settings.WHATSAPP_DRIVER = "sandbox"
    account = WhatsAppSessionFactory(status=SessionStatus.WAITING_QR)
    profile = profile_dir_for(session_id=account.pk)
    account.profile_dir = str(profile)
    session_simulate_scan(session=account)
    assert (profile / SCAN_MARKER).exists()


def test_real_accounts_cannot_be_scanned_by_a_button(settings):
    settings.WHATSAPP_DRIVER = "selenium"
    account = WhatsAppSessionFactory(status=SessionStatus.WAITING_QR)
    account.profile_dir = str(profile_dir_for(session_id=account.pk))
    with pytest.raises(ValueError, match="only for sandbox"):
        session_simulate_scan(session=account)
