"""Session hosts on the wa-js strategy: a real Celery worker, Chromium and the replica."""

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from campaigns.models import CampaignStatus, Message, MessageStatus
from campaigns.services import campaign_start
from debtors.models import Debtor, OnWhatsApp
from sessions_app.drivers.whatsapp_web import SeleniumDriver
from sessions_app.models import PoolStrategy, SessionStatus, WhatsAppSession
from sessions_app.services.requests import session_request_pairing_code, session_request_takeover
from sessions_app.tasks import session_host
from tests.conftest import start_worker, stop_worker, wait_until
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    PoolFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
)
from tests.sessions_app.conftest import WAJS_STANDIN, wajs_settings

pytestmark = pytest.mark.django_db(transaction=True)
QUEUE = f"wajs-{os.getpid()}"


@pytest.fixture(scope="module")
def profiles(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("wajs-host-profiles")


@pytest.fixture(scope="module")
def wajs_worker(django_db_setup, django_db_blocker, replica, profiles) -> Iterator[None]:
    """A browser worker whose hosts run Chromium on the replica through the stand-in."""
    with django_db_blocker.unblock():
        worker = start_worker(
            "wajs",
            queues=QUEUE,
            WHATSAPP_DRIVER="selenium",
            WHATSAPP_WEB_URL=replica.url,
            WHATSAPP_STRATEGY="wajs",
            WHATSAPP_WAJS_FILE=str(WAJS_STANDIN),
            WHATSAPP_PROFILES_DIR=str(profiles),
            WHATSAPP_PAGE_TIMEOUT="15",
            WHATSAPP_SEND_TIMEOUT="10",
            HOST_POLL_SECONDS="0.5",
        )
    try:
        yield
    finally:
        stop_worker(worker)


@pytest.fixture
def hosts(wajs_worker, settings, profiles) -> Iterator[None]:
    settings.WHATSAPP_PROFILES_DIR = profiles
    yield
    WhatsAppSession.objects.update(should_run=False)
    wait_until(
        lambda: not WhatsAppSession.objects.exclude(host_token="").exists(),
        message="session hosts did not stop",
    )


def _fresh(session):
    return WhatsAppSession.objects.get(pk=session.pk)


def _host(session):
    WhatsAppSession.objects.filter(pk=session.pk).update(should_run=True)
    session_host.apply_async((session.pk,), queue=QUEUE)


def _linked(replica, phone):
    session = WhatsAppSessionFactory()
    _host(session)
    wait_until(lambda: _fresh(session).qr_payload, message="the host never published a QR")
    assert replica.scan(_fresh(session).qr_payload, phone=phone)
    wait_until(lambda: _fresh(session).status == SessionStatus.CONNECTED, message="not linked")
    return _fresh(session)


def _campaign(*accounts, phones, strategy=PoolStrategy.COMPETITIVE):
    pool = PoolFactory(strategy=strategy)
    for position, account in enumerate(accounts):
        PoolMemberFactory(pool=pool, session=account, position=position)
    for phone in phones:
        DebtorFactory(phone_e164=phone)
    return campaign_start(campaign=CampaignFactory(pool=pool, template="Hola {name} 👋\nSaldo"))


def _all_sent(campaign):
    return not Message.objects.filter(
        campaign=campaign,
        status__in=[MessageStatus.PENDING, MessageStatus.CLAIMED, MessageStatus.SENDING],
    ).exists()


@pytest.mark.usefixtures("hosts", "stop_words")
def test_a_host_links_by_pairing_code_sends_and_opts_out_a_lid_stop(replica):
    session = WhatsAppSessionFactory()
    _host(session)
    wait_until(lambda: _fresh(session).status == SessionStatus.WAITING_QR, message="no login")

    session_request_pairing_code(session=_fresh(session), phone="+573001239101")
    code = wait_until(lambda: _fresh(session).pairing_code, message="no pairing code shown")
    assert replica.enter_pairing_code(code)
    wait_until(lambda: _fresh(session).status == SessionStatus.CONNECTED, message="not linked")
    assert _fresh(session).phone_e164 == "+573001239101"
    assert _fresh(session).driver_strategy == "wajs"

    phones = ["+573006660001", "+573006660002", "+573006660003"]
    campaign = _campaign(_fresh(session), phones=phones)
    wait_until(lambda: _all_sent(campaign), message="the campaign was not sent")

    for message in Message.objects.filter(campaign=campaign).select_related("debtor"):
        assert replica.texts_sent_to(message.debtor.phone_e164) == [message.body]
        assert message.wa_message_id in {sent.wa_id for sent in replica.sent}
        assert message.debtor.on_whatsapp == OnWhatsApp.YES
        assert message.debtor.whatsapp_lid == replica.lid_of(message.debtor.phone_e164)
    wait_until(
        lambda: set(Message.objects.values_list("status", flat=True)) == {MessageStatus.READ},
        message="the acks never arrived",
    )
    assert replica.read_receipts == []

    replica.receive(from_phone=phones[0], text="STOP", lid=True)
    wait_until(lambda: Debtor.objects.get(phone_e164=phones[0]).opted_out, message="no opt-out")

    replica.remote_logout("+573001239101", reason="account_sync_timeout")
    wait_until(lambda: _fresh(session).status == SessionStatus.LOGGED_OUT, message="no logout")
    assert _fresh(session).logout_reason == "account_sync_timeout"


@pytest.mark.usefixtures("hosts")
def test_a_host_starting_after_a_crash_settles_the_message_whatsapp_has_by_its_id(
    replica, profiles
):
    session = _linked(replica, "+573001239102")
    WhatsAppSession.objects.filter(pk=session.pk).update(should_run=False)
    wait_until(lambda: not _fresh(session).host_token, message="the host did not stop")
    campaign = _campaign(session, phones=["+573006660011", "+573006660012"])
    campaign.status = CampaignStatus.PAUSED
    campaign.save(update_fields=["status"])
    reached, lost = Message.objects.filter(campaign=campaign).order_by("pk")
    # What the crashed host did: it committed the prepared id, WhatsApp took the message,
    # and the process died before the settle.
    with wajs_settings(replica), override_settings(WHATSAPP_PROFILES_DIR=profiles):
        driver = SeleniumDriver(profile_dir=_fresh(session).profile_dir_path)
        driver.start()
        try:
            reached_id = driver.prepare_send(phone_e164="+573006660011")
            driver.send_text(phone_e164="+573006660011", text=reached.body, message_id=reached_id)
            lost_id = driver.prepare_send(phone_e164="+573006660012")
        finally:
            driver.close()
    for message, wa_id in ((reached, reached_id), (lost, lost_id)):
        Message.objects.filter(pk=message.pk).update(
            status=MessageStatus.UNKNOWN, session=session, wa_message_id=wa_id
        )

    _host(session)

    wait_until(
        lambda: Message.objects.get(pk=reached.pk).status != MessageStatus.UNKNOWN,
        message="the message WhatsApp has was not settled",
    )
    wait_until(lambda: "Not found by its id" in Message.objects.get(pk=lost.pk).last_error)
    assert Message.objects.get(pk=lost.pk).status == MessageStatus.UNKNOWN
    assert replica.texts_sent_to("+573006660011") == [reached.body]
    assert replica.texts_sent_to("+573006660012") == []


@pytest.mark.usefixtures("hosts")
def test_the_timelock_restricts_an_account_and_its_turns_go_to_the_other(replica, replica_config):
    locked = _linked(replica, "+573001239103")
    free = _linked(replica, "+573001239104")
    replica.configure(timelocked=("573001239103",))
    phones = [f"+57300666002{n}" for n in range(4)]

    campaign = _campaign(locked, free, phones=phones, strategy=PoolStrategy.FIXED_TURNS)

    wait_until(lambda: _all_sent(campaign), timeout=60, message="the campaign was not sent")
    assert _fresh(locked).status == SessionStatus.RESTRICTED
    assert "463" in _fresh(locked).restriction_reason
    assert _fresh(locked).restricted_since is not None
    assert set(Message.objects.values_list("session", flat=True)) == {free.pk}
    for phone in phones:
        assert len(replica.texts_sent_to(phone)) == 1


@pytest.mark.usefixtures("hosts")
def test_syncing_waits_conflict_takes_use_here_and_a_ban_stops_the_host(replica, replica_config):
    session = _linked(replica, "+573001239105")

    replica.configure(stream_mode="SYNCING")
    wait_until(lambda: "Syncing" in _fresh(session).status_detail, message="syncing unseen")
    assert _fresh(session).status == SessionStatus.CONNECTED

    replica.configure(stream_mode="CONFLICT")
    wait_until(lambda: _fresh(session).in_conflict, message="conflict unseen")
    assert _fresh(session).status == SessionStatus.DISCONNECTED
    session_request_takeover(session=_fresh(session))
    wait_until(
        lambda: (
            _fresh(session).status == SessionStatus.CONNECTED and not _fresh(session).in_conflict
        ),
        message="Use here did not bring the account back",
    )

    replica.configure(stream_mode="TOS_BLOCK")
    wait_until(lambda: _fresh(session).status == SessionStatus.BANNED, message="ban unseen")
    wait_until(lambda: not _fresh(session).host_token, message="the banned host kept running")
    assert not _fresh(session).should_run
