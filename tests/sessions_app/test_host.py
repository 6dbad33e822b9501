"""Session hosts and whole campaigns through real Celery workers and the sandbox network."""

import os
import signal
from collections import Counter

import pytest
from django.db import transaction
from django.db.models import Count

from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from campaigns.selectors import FINAL_STATUSES
from campaigns.services import campaign_pause, campaign_resume, campaign_start
from campaigns.sweep import engine_sweep
from debtors.models import DoNotContact, OptOutSource
from sessions_app.drivers.sandbox import simulate_remote_logout, simulate_reply
from sessions_app.models import PoolStrategy, SessionStatus, WhatsAppSession
from sessions_app.services import (
    session_connect,
    session_disconnect,
    session_simulate_scan,
    sessions_supervise,
)
from sessions_app.tasks import session_host
from tests.conftest import start_worker, stop_worker, wait_until, worker_node_name
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    PoolFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
)
from whatsmassive.celery import app as celery_app

pytestmark = pytest.mark.django_db(transaction=True)


def _fresh(session):
    return WhatsAppSession.objects.get(pk=session.pk)


def _linked(*, queue=None, **fields):
    """An account connected through its host: QR shown, scanned, linked."""
    session = WhatsAppSessionFactory(**fields)
    if queue is None:
        session_connect(session=session)
    else:
        WhatsAppSession.objects.filter(pk=session.pk).update(should_run=True)
        session_host.apply_async((session.pk,), queue=queue)
    wait_until(lambda: _fresh(session).qr_payload, message="the host never published a QR code")
    session_simulate_scan(session=_fresh(session))
    wait_until(
        lambda: _fresh(session).status == SessionStatus.CONNECTED,
        message="the account never linked",
    )
    return _fresh(session)


def _campaign(accounts, *, strategy, debtors, weights=None):
    pool = PoolFactory(strategy=strategy)
    for position, account in enumerate(accounts):
        weight = weights[position] if weights else 1
        PoolMemberFactory(pool=pool, session=account, position=position, weight=weight)
    DebtorFactory.create_batch(debtors)
    return campaign_start(campaign=CampaignFactory(pool=pool))


def _finished(campaign):
    open_ = Message.objects.filter(campaign=campaign).exclude(status__in=FINAL_STATUSES).exists()
    if open_:
        return False
    engine_sweep()
    return Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED


@pytest.fixture
def hosts_stop_after_test(celery_worker):
    yield
    WhatsAppSession.objects.update(should_run=False)
    wait_until(
        lambda: not WhatsAppSession.objects.exclude(host_token="").exists(),
        message="session hosts did not stop",
    )


@pytest.mark.usefixtures("hosts_stop_after_test")
def test_connect_shows_a_qr_links_on_scan_heartbeats_and_disconnects(send_log):
    session = _linked()
    assert session.host
    assert session.qr_payload == ""
    first_beat = session.heartbeat_at
    wait_until(lambda: _fresh(session).heartbeat_at > first_beat, message="no heartbeat")

    session_disconnect(session=session)
    wait_until(
        lambda: _fresh(session).status == SessionStatus.DISCONNECTED and not _fresh(session).host,
        message="the host did not stop",
    )
    # The profile keeps the link: connecting again needs no new scan.
    session_connect(session=_fresh(session))
    wait_until(lambda: _fresh(session).status == SessionStatus.CONNECTED, message="no reconnect")


@pytest.mark.usefixtures("hosts_stop_after_test")
def test_fixed_turns_run_to_completion_within_one_message_per_account(send_log):
    accounts = [_linked() for _ in range(3)]
    campaign = _campaign(accounts, strategy=PoolStrategy.FIXED_TURNS, debtors=91)
    wait_until(lambda: _finished(campaign), timeout=90, message="campaign did not finish")
    sent_by = Counter(Message.objects.filter(campaign=campaign).values_list("session", flat=True))
    assert sorted(sent_by.values()) == [30, 30, 31]
    phones = [phone for _, _, phone in send_log()]
    assert len(phones) == len(set(phones)) == 91


@pytest.mark.usefixtures("hosts_stop_after_test")
def test_random_turns_follow_the_weights(send_log):
    light, heavy = _linked(), _linked()
    campaign = _campaign(
        [light, heavy], strategy=PoolStrategy.RANDOM_TURNS, debtors=400, weights=[1, 3]
    )
    wait_until(lambda: _finished(campaign), timeout=120, message="campaign did not finish")
    heavy_share = Message.objects.filter(campaign=campaign, session=heavy).count() / 400
    # Binomial(400, 0.75): standard deviation of the share ~0.022; allow 4.5 sigma.
    assert abs(heavy_share - 0.75) < 0.1
    assert len({phone for _, _, phone in send_log()}) == 400


@pytest.mark.usefixtures("hosts_stop_after_test")
def test_competitive_pools_favour_the_faster_account(send_log):
    fast = _linked()
    slow = _linked(min_delay_seconds=1, max_delay_seconds=1)
    campaign = _campaign([fast, slow], strategy=PoolStrategy.COMPETITIVE, debtors=120)
    wait_until(lambda: _finished(campaign), timeout=90, message="campaign did not finish")
    by_account = Counter(
        Message.objects.filter(campaign=campaign).values_list("session", flat=True)
    )
    assert by_account[fast.pk] > 3 * by_account[slow.pk]
    assert by_account[fast.pk] + by_account[slow.pk] == 120


@pytest.mark.usefixtures("hosts_stop_after_test")
def test_an_account_logged_out_mid_campaign_hands_its_turns_to_the_others(send_log):
    leaving = _linked(min_delay_seconds=1, max_delay_seconds=1)
    staying = _linked()
    campaign = _campaign([leaving, staying], strategy=PoolStrategy.FIXED_TURNS, debtors=40)
    wait_until(
        lambda: Message.objects.filter(session=leaving, status=MessageStatus.SENT).exists(),
        message="the leaving account never sent",
    )
    simulate_remote_logout(_fresh(leaving).profile_dir_path)
    wait_until(lambda: _finished(campaign), timeout=90, message="campaign did not finish")
    assert _fresh(leaving).status == SessionStatus.LOGGED_OUT
    statuses = set(Message.objects.filter(campaign=campaign).values_list("status", flat=True))
    assert statuses <= {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ}
    assert len({phone for _, _, phone in send_log()}) == 40


@pytest.mark.usefixtures("hosts_stop_after_test")
def test_a_campaign_waits_when_no_account_is_left_and_resumes_on_reconnect(send_log):
    only = _linked()
    session_disconnect(session=only)
    wait_until(lambda: _fresh(only).status == SessionStatus.DISCONNECTED, message="no stop")
    campaign = _campaign([_fresh(only)], strategy=PoolStrategy.RANDOM_TURNS, debtors=10)
    engine_sweep()
    campaign.refresh_from_db()
    assert campaign.status_detail == "Waiting: no account of the pool is connected"
    assert Message.objects.filter(status=MessageStatus.PENDING).count() == 10
    session_connect(session=_fresh(only))
    wait_until(lambda: _finished(campaign), timeout=60, message="campaign did not finish")


def test_a_killed_host_is_restarted_by_the_supervisor_without_duplicates(celery_worker, send_log):
    # The hosts run on a worker of their own that sends slowly, so the kill lands mid-send.
    queue = f"doomed-{os.getpid()}"
    doomed = start_worker("doomed", queues=queue, WHATSAPP_SANDBOX_LATENCY="1.5")
    try:
        accounts = [_linked(queue=queue) for _ in range(3)]
        campaign = _campaign(accounts, strategy=PoolStrategy.COMPETITIVE, debtors=60)
        wait_until(
            lambda: (
                Message.objects.filter(status=MessageStatus.SENT).count() >= 3
                and Message.objects.filter(status=MessageStatus.SENDING).exists()
            ),
            message="sends never started",
        )
        os.kill(doomed.pid, signal.SIGKILL)
        doomed.wait()
    finally:
        if doomed.poll() is None:
            stop_worker(doomed)
    left_mid_send = set(
        Message.objects.filter(status=MessageStatus.SENDING).values_list("pk", flat=True)
    )
    assert left_mid_send

    try:
        # The supervisor restarts the three hosts on the run's shared worker.
        restarted: set[int] = set()
        wait_until(
            lambda: restarted.update(sessions_supervise()) or len(restarted) == 3,
            message="the supervisor did not see the dead hosts",
        )
        wait_until(lambda: _finished(campaign), timeout=120, message="campaign did not finish")
        statuses = dict(
            Message.objects.filter(campaign=campaign).values_list("status").annotate(n=Count("id"))
        )
        unknown = set(
            Message.objects.filter(status=MessageStatus.UNKNOWN).values_list("pk", flat=True)
        )
        # What was mid-send is never resent: a message WhatsApp got is found by the id it
        # was committed with and settled as sent, the others stay unknown; the rest is sent.
        assert unknown <= left_mid_send
        logged = {wa_id for wa_id, _, _ in send_log()}
        assert all(
            message.wa_message_id in logged
            for message in Message.objects.filter(pk__in=left_mid_send - unknown)
        )
        reached = sum(
            statuses.get(status, 0)
            for status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)
        )
        assert reached == 60 - len(unknown)
        phones = [phone for _, _, phone in send_log()]
        assert len(phones) == len(set(phones))
        assert all(_fresh(account).status == SessionStatus.CONNECTED for account in accounts)
    finally:
        WhatsAppSession.objects.update(should_run=False)
        wait_until(
            lambda: not WhatsAppSession.objects.exclude(host_token="").exists(),
            message="session hosts did not stop",
        )


@pytest.mark.usefixtures("hosts_stop_after_test")
@pytest.mark.parametrize("how", ["remote control", "SIGTERM"])
def test_a_worker_told_to_shut_down_stops_its_hosts_and_exits(how):
    queue = f"leaving-{os.getpid()}"
    worker = start_worker("leaving", queues=queue)
    try:
        account = _linked(queue=queue)
        if how == "SIGTERM":
            worker.send_signal(signal.SIGTERM)
        else:
            celery_app.control.shutdown(destination=[worker_node_name("leaving")])
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
            pytest.fail(f"the worker told to shut down by {how} kept running its host")
    # The host handed the account back on its way out: the supervisor may restart it.
    assert _fresh(account).host_token == ""


@pytest.mark.usefixtures("hosts_stop_after_test", "stop_words")
def test_a_spanish_stop_reply_stops_the_next_message_to_that_debtor(send_log):
    account = _linked()
    debtor = DebtorFactory(phone_e164="+573004440001")
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=account)
    first = campaign_start(campaign=CampaignFactory(pool=pool))
    wait_until(lambda: _finished(first), timeout=60, message="the first campaign did not finish")
    # The next campaign already holds a message for the debtor, waiting (paused); it
    # includes debtors contacted in the last days, as the first campaign just did.
    others = DebtorFactory.create_batch(3)
    with transaction.atomic():
        second = campaign_start(
            campaign=CampaignFactory(pool=pool, audience={"include_recent": True})
        )
        campaign_pause(campaign=second)

    simulate_reply(
        _fresh(account).profile_dir_path,
        phone_e164=debtor.phone_e164,
        text="Ya pagué, no me escriban más 🙏",
    )
    wait_until(
        lambda: DoNotContact.objects.filter(phone_e164=debtor.phone_e164).exists(),
        message="the reply did not put the phone on the registry",
    )
    campaign_resume(campaign=second)
    wait_until(lambda: _finished(second), timeout=60, message="the second campaign did not finish")

    assert Message.objects.get(campaign=second, debtor=debtor).status == MessageStatus.SKIPPED
    sent_to = [phone for _, _, phone in send_log()]
    assert sent_to.count(debtor.phone_e164) == 1
    assert {other.phone_e164 for other in others} <= set(sent_to)
    assert DoNotContact.objects.get(phone_e164=debtor.phone_e164).source == OptOutSource.REPLY
