import datetime

import pytest
from django.utils import timezone

from sessions_app.drivers import profile_dir_for
from sessions_app.models import SessionStatus, WhatsAppSession
from sessions_app.services import (
    session_host_acquire,
    session_logout,
    sessions_supervise,
)
from tests.factories import WhatsAppSessionFactory

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
