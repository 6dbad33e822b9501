"""The account's health score, the pause below its threshold, and what the host records
for the warm-up and the score."""

import pytest
from django.utils import timezone

from campaigns.engine import Pacer
from campaigns.models import MessageStatus
from sessions_app.drivers.base import DriverState, Restriction
from sessions_app.models import AccountIncident, IncidentKind, SessionStatus, WhatsAppSession
from sessions_app.services import (
    session_connect,
    session_host_acquire,
    session_host_release,
    session_record_state,
    sessions_refresh_health,
)
from tests.factories import MessageFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


def _failing(account, failed):
    now = timezone.now()
    for _ in range(20 - failed):
        MessageFactory(session=account, status=MessageStatus.SENT, sent_at=now)
    for _ in range(failed):
        MessageFactory(session=account, status=MessageStatus.FAILED, failed_at=now)


def test_the_refresh_stores_each_accounts_score_and_parts():
    healthy, failing = WhatsAppSessionFactory(), WhatsAppSessionFactory()
    _failing(failing, 6)  # 30% failed: the most failures can cost
    assert sessions_refresh_health() == []
    healthy.refresh_from_db()
    failing.refresh_from_db()
    assert healthy.health_score == 100
    assert (failing.health_score, failing.health_parts["failed"]) == (
        70,
        {"count": 6, "points": 30},
    )
    assert failing.health_at is not None


def test_an_account_whose_score_falls_below_the_threshold_pauses_itself(settings):
    settings.WHATSAPP_HEALTH_PAUSE_BELOW = 75
    account = WhatsAppSessionFactory(should_run=True, status=SessionStatus.CONNECTED)
    _failing(account, 6)
    assert sessions_refresh_health() == [account.pk]
    account.refresh_from_db()
    assert not account.should_run
    assert "health score fell to 70 (below 75)" in account.status_detail
    assert account.paused_reason == account.status_detail


def test_the_pause_reason_outlives_the_host_and_connecting_again_resumes(settings):
    settings.WHATSAPP_HEALTH_PAUSE_BELOW = 75
    account = WhatsAppSessionFactory(should_run=True)
    session, token = session_host_acquire(session_id=account.pk)
    _failing(account, 6)
    sessions_refresh_health()
    session_host_release(session=session, token=token, logged_out=False)
    account.refresh_from_db()
    assert account.status == SessionStatus.DISCONNECTED
    assert "health score fell to 70" in account.status_detail
    session_connect(session=account)
    account.refresh_from_db()
    assert (account.should_run, account.paused_reason) == (True, "")
    # Still low, but the operator chose to resume: only a new fall pauses it again.
    assert sessions_refresh_health() == []
    assert WhatsAppSession.objects.get(pk=account.pk).should_run


def test_a_score_above_the_threshold_or_a_stopped_account_is_left_alone(settings):
    settings.WHATSAPP_HEALTH_PAUSE_BELOW = 60
    running = WhatsAppSessionFactory(should_run=True)
    stopped = WhatsAppSessionFactory(should_run=False)
    _failing(running, 6)  # 70
    for _ in range(20):
        MessageFactory(session=stopped, status=MessageStatus.UNKNOWN)  # 80 points off
    assert sessions_refresh_health() == []
    assert WhatsAppSession.objects.get(pk=running.pk).should_run
    assert WhatsAppSession.objects.get(pk=stopped.pk).health_score == 80


def test_below_the_slow_threshold_the_delays_double(settings):
    settings.WHATSAPP_HEALTH_SLOW_BELOW = 60
    account = WhatsAppSessionFactory(min_delay_seconds=20, max_delay_seconds=30, health_score=59)
    delays = [Pacer(session=account).next_delay() for _ in range(50)]
    assert all(40 <= delay <= 60 for delay in delays)
    account.health_score = 60
    assert all(20 <= Pacer(session=account).next_delay() <= 30 for _ in range(50))


def test_the_first_link_starts_the_warm_up_and_a_later_one_does_not_restart_it():
    account = WhatsAppSessionFactory(should_run=True, linked_at=None)
    session, token = session_host_acquire(session_id=account.pk)
    session_record_state(session=session, token=token, state=DriverState.CONNECTED, qr_payload=None)
    first = WhatsAppSession.objects.get(pk=account.pk).linked_at
    assert first is not None
    session_record_state(session=session, token=token, state=DriverState.OFFLINE, qr_payload=None)
    session_record_state(session=session, token=token, state=DriverState.CONNECTED, qr_payload=None)
    assert WhatsAppSession.objects.get(pk=account.pk).linked_at == first


def test_restrictions_and_disconnects_are_recorded_for_the_score():
    account = WhatsAppSessionFactory(should_run=True, status=SessionStatus.CONNECTED)
    session, token = session_host_acquire(session_id=account.pk)
    session.status = SessionStatus.CONNECTED
    session_record_state(
        session=session,
        token=token,
        state=DriverState.RESTRICTED,
        qr_payload=None,
        restriction=Restriction(reason="spam reports", since=timezone.now(), until=None),
    )
    session_record_state(session=session, token=token, state=DriverState.CONFLICT, qr_payload=None)
    session_host_release(session=session, token=token, logged_out=False, error="crashed")
    kinds = list(AccountIncident.objects.filter(session=account).values_list("kind", flat=True))
    assert sorted(kinds) == sorted(
        [IncidentKind.RESTRICTED, IncidentKind.DISCONNECTED, IncidentKind.DISCONNECTED]
    )
    account.refresh_from_db()
    assert account.health_score is None
    sessions_refresh_health()
    account.refresh_from_db()
    assert account.health_parts["restrictions"]["count"] == 1
    assert account.health_parts["disconnects"]["count"] == 2
