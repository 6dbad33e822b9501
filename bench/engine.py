"""Engine throughput: N sandbox accounts with zero delay send M messages through real workers.

    python bench/engine.py --accounts 20 --messages 100000 [--workers 2]

Uses the PostgreSQL of DATABASE_URL (a throwaway database, recreated) and the Redis of
REDIS_URL. Ends with one line:
    messages_per_second=X duplicates=N lost=N commits_per_message=Y
duplicates come from the sandbox network's own send log; lost counts debtors of the
campaign whose message has no final status.
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

from common import ROOT, database_url, drop_database, migrate, recreate_database, setup_django


def _commits(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _webhook_setup(env: dict[str, str]) -> list[subprocess.Popen[bytes]]:
    """A receiver on 127.0.0.1, one endpoint taking every message event (batches of 100)
    and a default-queue worker delivering them; the caller ends the processes."""
    from webhooks.models import EventType
    from webhooks.services import endpoint_create

    env["WEBHOOK_ALLOW_PRIVATE"] = "1"
    os.environ["WEBHOOK_ALLOW_PRIVATE"] = "1"
    port = 18765
    receiver = subprocess.Popen([sys.executable, str(ROOT / "bench" / "receiver.py"), str(port)])
    endpoint_create(
        url=f"http://127.0.0.1:{port}/",
        event_types=[t for t in EventType.values if t.startswith("message.")],
        batch_size=100,
        by=None,
    )
    worker = [sys.executable, "-m", "celery", "-A", "whatsmassive", "worker", "-Q", "default"]
    delivery = subprocess.Popen(
        [*worker, "-P", "threads", "-c", "2", "--loglevel", "ERROR", "-n", "benchhooks@%h"],
        cwd=ROOT,
        env=env,
    )
    return [receiver, delivery]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="browser worker processes")
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--webhook", action="store_true", help="one endpoint takes every message event"
    )
    args = parser.parse_args()

    url = database_url()
    state = Path(tempfile.mkdtemp(prefix="whatsmassive-bench-"))
    os.environ.update(
        WHATSAPP_DRIVER="sandbox",
        WHATSAPP_SANDBOX_LATENCY="0",
        WHATSAPP_PROFILES_DIR=str(state / "profiles"),
        WHATSAPP_SANDBOX_DIR=str(state / "sandbox"),
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"),
        HOST_HEARTBEAT_SECONDS="2",
        DB_CONN_MAX_AGE="600",
    )
    recreate_database(url)
    setup_django(url)
    migrate()

    import datetime

    import redis
    from django.db.models import Count

    from campaigns.models import Campaign, Message
    from campaigns.selectors import FINAL_STATUSES
    from campaigns.services import campaign_start
    from debtors.models import Debtor
    from sessions_app.drivers import profile_dir_for
    from sessions_app.drivers.sandbox import LINKED_MARKER, read_send_log
    from sessions_app.models import Pool, PoolMember, SessionStatus, WhatsAppSession
    from sessions_app.services import session_connect

    redis.Redis.from_url(os.environ["REDIS_URL"]).flushdb()
    accounts = []
    for number in range(args.accounts):
        account = WhatsAppSession.objects.create(
            name=f"Bench {number}",
            min_delay_seconds=0,
            max_delay_seconds=0,
            hourly_cap=10**6,
            daily_cap=10**7,
            active_from=datetime.time(0, 0),
            active_until=datetime.time(0, 0),
        )
        (profile_dir_for(session_id=account.pk) / LINKED_MARKER).touch()  # already linked
        accounts.append(account)
    pool = Pool.objects.create(name="Bench pool")
    PoolMember.objects.bulk_create(
        PoolMember(pool=pool, session=account, position=i) for i, account in enumerate(accounts)
    )
    Debtor.objects.bulk_create(
        (
            Debtor(name=f"Debtor {i}", phone_e164=f"+5730{i:08d}1", reference=f"B-{i}")
            for i in range(args.messages)
        ),
        batch_size=10_000,
    )

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    webhook_processes = _webhook_setup(env) if args.webhook else []
    threads = max(1, -(-args.accounts // args.workers)) + 1
    command = [sys.executable, "-m", "celery", "-A", "whatsmassive", "worker", "-Q", "browser"]
    options = ["-P", "threads", "-c", str(threads), "--loglevel", "ERROR", "--without-gossip"]
    workers = [
        subprocess.Popen([*command, *options, "-n", f"bench{i}@%h"], cwd=ROOT, env=env)
        for i in range(args.workers)
    ]
    try:
        for account in accounts:
            session_connect(session=account)
        while WhatsAppSession.objects.filter(status=SessionStatus.CONNECTED).count() < len(
            accounts
        ):
            time.sleep(0.2)
        campaign = Campaign.objects.create(name="Bench", template="Hola {name}", pool=pool)
        fan_out_started = time.monotonic()
        campaign_start(campaign=campaign)
        fan_out = time.monotonic() - fan_out_started
        commits_before = _commits(url)
        started = time.monotonic()
        while True:
            counts = dict(
                Message.objects.filter(campaign=campaign)
                .values_list("status")
                .annotate(n=Count("id"))
            )
            done = sum(n for status, n in counts.items() if status in FINAL_STATUSES)
            elapsed = time.monotonic() - started
            print(f"  {elapsed:6.1f}s {done:>8}/{args.messages} {counts}", file=sys.stderr)
            if done >= args.messages or elapsed > 1800:
                break
            time.sleep(1)
        elapsed = time.monotonic() - started
        commits = _commits(url) - commits_before
    finally:
        WhatsAppSession.objects.update(should_run=False)
        time.sleep(3)
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=60)
        for process in webhook_processes:
            process.terminate()

    phones = Counter(phone for _, _, phone in read_send_log())
    duplicates = sum(n - 1 for n in phones.values() if n > 1)
    lost = args.messages - done
    per_account = Counter(
        Message.objects.filter(campaign=campaign).values_list("session", flat=True)
    )
    print(
        f"fan-out of {args.messages} messages: {fan_out:.2f} s; "
        f"per account min/max: {min(per_account.values())}/{max(per_account.values())}",
        file=sys.stderr,
    )
    if not args.keep:
        from django.db import connections

        connections.close_all()
        drop_database(url)
    print(
        f"messages_per_second={done / elapsed:.1f} duplicates={duplicates} lost={lost} "
        f"commits_per_message={commits / max(done, 1):.2f}"
    )


if __name__ == "__main__":
    main()
