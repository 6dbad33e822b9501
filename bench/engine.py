"""Engine throughput: N sandbox accounts with zero delay send M messages through real workers.

    python bench/engine.py --accounts 20 --messages 100000 [--workers 2] [--autovacuum]
        [--webhook] [--policy]

Uses the PostgreSQL of DATABASE_URL (a throwaway database, recreated; by default one named
after the run) and a Redis database of REDIS_URL's server claimed for the run, as a test
run claims one. Before the campaign it measures the machine's own limit: as many connections as
the hosts hold (workers x threads) each update their own row and commit, for a few seconds.
Each variant (`plain`, then those asked for: `--webhook`, `--policy`, then `plain` again
when any was asked for) runs its own campaign of M messages through the same connected
accounts, one after another in the same run, and ends with one line:
    variant=V messages_per_second=X duplicates=N lost=N commits_per_message=Y commit_rate=Z
    limit_ratio=R slowdown=S
followed, for every other variant, by its rate over plain's (`V_over_plain=Q`). Plain runs
first and last, and its rate is the mean of the two: every campaign leaves the database
larger (its messages, their events, a checkpoint's worth of writes) and the machine in
another state, so a variant is judged against plain before and after it, not against a
plain that always had the smaller database. `plain_drift` is the second plain's rate over
the first's: how much that drift was.
limit_ratio = X / (Z / Y): the share of the commit rate the engine turns into messages.
slowdown is the send rate of the last tenth of the campaign (by send time) over the first.
duplicates come from the sandbox network's own send log; lost counts debtors of the
campaign whose message has no final status.

With --autovacuum the messages and debtors tables are vacuumed as PostgreSQL's autovacuum
would (their storage parameters turned on; when the server runs the daemon off, the bench
applies the daemon's own thresholds every autovacuum_naptime itself).

--webhook: one endpoint takes every message event in batches of 100, delivered by the
default-queue worker (which runs in every variant, as in production) to bench/receiver.py;
the variant waits for the outbox to drain (nothing left to deliver through two polls of
the accounts, whose last receipts come after the campaign's end) and adds `webhook_events`,
`undelivered`, `delivered_events_per_second` (first batch taken to last request answered)
and `drain_seconds` (last message outcome to last event delivered).

The campaigns of `plain` and `--webhook` follow a policy open all the time without caps, to
the same M debtors. --policy: a policy with windows 00:00-24:00 every day and a cap of one
message per debtor per local day, so that every claim counts its debtor's contacts under the
debtor's advisory lock. Its cap would hold back every debtor an earlier variant wrote to
today, so it writes to M debtors of its own, made with the others and never messaged before
(the same number of messages through the same accounts; the audiences tell the two sets
apart by amount). The do-not-contact check runs in every claim; for this variant the
registry holds M other phones, none of them a debtor's, so that the check probes a filled
index and skips no one.
"""

import argparse
import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from common import (
    ROOT,
    database_url,
    drop_database,
    migrate,
    recreate_database,
    redis_url,
    setup_django,
)

PROBE_SECONDS = 5.0
SWEEP_SECONDS = 5.0
# The watcher's count reads every message of the campaign: it is kept out of the way.
WATCH_SECONDS = 2.0
VACUUMED_TABLES = ("campaigns_message", "debtors_debtor")


def _commits(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (Linux /proc), 0 for those gone."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total / ticks


def _backends(url: str) -> list[int]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        ).fetchall()
    return [int(pid) for (pid,) in rows]


def _buffers(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT blks_hit + blks_read FROM pg_stat_database WHERE datname = current_database()"
        ).fetchone()
    assert row is not None
    return int(row[0])


def _load() -> str:
    return "/".join(f"{figure:.1f}" for figure in os.getloadavg())


def commit_rate(url: str, connections: int, seconds: float = PROBE_SECONDS) -> float:
    """Single-row update commits a second from `connections` connections, each its own row."""
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("CREATE TABLE bench_commit_probe (id int PRIMARY KEY, n bigint NOT NULL)")
        conn.execute(
            "INSERT INTO bench_commit_probe SELECT i, 0 FROM generate_series(1, %s) AS i",
            [connections],
        )
    start = threading.Barrier(connections + 1)
    counts = [0] * connections
    deadline = 0.0

    def probe(index: int) -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            statement = "UPDATE bench_commit_probe SET n = n + 1 WHERE id = %s"
            conn.execute(statement, [index + 1], prepare=True)
            start.wait()
            while time.monotonic() < deadline:
                conn.execute(statement, [index + 1], prepare=True)
                counts[index] += 1

    threads = [threading.Thread(target=probe, args=(index,)) for index in range(connections)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + seconds + 0.5
    start.wait()
    began = time.monotonic()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DROP TABLE bench_commit_probe")
    return sum(counts) / elapsed


def _threshold(kind: str) -> str:
    """When the daemon runs `kind` (vacuum, analyze): by the table's setting, else the server's."""

    def setting(name: str, cast: str) -> str:
        return (
            "coalesce((SELECT option_value FROM pg_options_to_table(c.reloptions)"  # noqa: S608
            f" WHERE option_name = '{name}')::{cast}, current_setting('{name}')::{cast})"
        )

    threshold = setting(f"autovacuum_{kind}_threshold", "int")
    scale = setting(f"autovacuum_{kind}_scale_factor", "float8")
    return f"{threshold} + {scale} * greatest(c.reltuples, 0)"


class Autovacuum:
    """Autovacuum on or off for our two tables; the daemon's rule where the server runs it off.

    Turned on, the tables are vacuumed by the daemon if the server runs it, else by this
    stand-in: every autovacuum_naptime it vacuums (and analyzes) the tables past the
    daemon's thresholds, throttled by the daemon's cost settings.
    """

    def __init__(self, url: str, *, on: bool) -> None:
        self.url = url
        self.on = on
        self.stop = threading.Event()
        self.vacuums = 0
        self.thread = threading.Thread(target=self._run, daemon=True)
        with psycopg.connect(url, autocommit=True) as conn:
            for name in VACUUMED_TABLES:
                conn.execute(
                    f"ALTER TABLE {name} SET (autovacuum_enabled = {'on' if on else 'off'})"
                )
            row = conn.execute(
                "SELECT current_setting('autovacuum')::bool,"
                " extract(epoch FROM current_setting('autovacuum_naptime')::interval)"
            ).fetchone()
        assert row is not None
        self.server_runs_it, self.naptime = bool(row[0]), float(row[1])

    def describe(self) -> str:
        if not self.on:
            return "off"
        return "on (server daemon)" if self.server_runs_it else "on (bench stand-in for the daemon)"

    def start(self) -> None:
        if self.on and not self.server_runs_it:
            self.thread.start()

    def close(self) -> None:
        self.stop.set()
        if self.thread.is_alive():
            self.thread.join()

    def _run(self) -> None:
        due = (
            f"SELECT s.relname, s.n_dead_tup > {_threshold('vacuum')},"  # noqa: S608
            f" s.n_mod_since_analyze > {_threshold('analyze')}"
            " FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid"
            " WHERE s.relname = ANY(%s)"
        )
        with psycopg.connect(self.url, autocommit=True) as conn:
            # A manual VACUUM runs unthrottled; the daemon's runs pause as it spends its budget.
            conn.execute(
                "SELECT set_config('vacuum_cost_delay',"
                " current_setting('autovacuum_vacuum_cost_delay'), false),"
                " set_config('vacuum_cost_limit',"
                " CASE current_setting('autovacuum_vacuum_cost_limit')"
                " WHEN '-1' THEN current_setting('vacuum_cost_limit')"
                " ELSE current_setting('autovacuum_vacuum_cost_limit') END, false)"
            )
            while not self.stop.wait(self.naptime):
                for name, vacuum, analyze in conn.execute(due, [list(VACUUMED_TABLES)]).fetchall():
                    if vacuum or analyze:
                        options = (
                            "ANALYZE" if not vacuum else "VACUUM (ANALYZE)" if analyze else "VACUUM"
                        )
                        conn.execute(f"{options} {name}")
                        self.vacuums += 1


def _slowdown(sent_at: list[float]) -> float:
    """Send rate of the last tenth of the sends over that of the first tenth."""
    tenth = len(sent_at) // 10
    if tenth < 2:
        return float("nan")
    first = sent_at[tenth - 1] - sent_at[0]
    last = sent_at[-1] - sent_at[-tenth]
    return first / last if last > 0 else float("inf")


# What a variant adds to its result line, asked once its campaign is over.
Report = Callable[[], str]
Variant = Callable[[], contextlib.AbstractContextManager[Report]]


@contextlib.contextmanager
def _plain() -> Iterator[Report]:
    yield lambda: ""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _webhook() -> Iterator[Report]:
    """A receiver on 127.0.0.1 and one endpoint taking every message event (batches of 100)."""
    from django.conf import settings
    from django.db.models import Max, Min, Q, Sum

    from webhooks.models import (
        DeliveryStatus,
        EventType,
        WebhookDelivery,
        WebhookEndpoint,
        WebhookEvent,
    )
    from webhooks.services import endpoint_create

    port = _free_port()
    receiver = subprocess.Popen([sys.executable, str(ROOT / "bench" / "receiver.py"), str(port)])
    endpoint = endpoint_create(
        url=f"http://127.0.0.1:{port}/",
        event_types=[t for t in EventType.values if t.startswith("message.")],
        batch_size=100,
        by=None,
    )
    # The hosts re-read which event types are taken this often.
    settle = settings.WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS + 1
    time.sleep(settle)

    def report() -> str:
        outbox = WebhookEvent.objects.filter(endpoint=endpoint)
        deliveries = WebhookDelivery.objects.filter(endpoint=endpoint)
        pending = deliveries.exclude(status=DeliveryStatus.SUCCEEDED)
        # Receipts of the last sends still come in after the campaign is over, each poll of
        # an account (HOST_POLL_SECONDS) writing their events: drained means nothing left
        # to deliver through two polls in a row.
        deadline = time.monotonic() + 600
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            if outbox.exists() or pending.exists():
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= 2 * settings.HOST_POLL_SECONDS:
                break
            time.sleep(0.5)
        figures = deliveries.aggregate(
            delivered=Sum("event_count", filter=Q(status=DeliveryStatus.SUCCEEDED), default=0),
            pending=Sum("event_count", filter=~Q(status=DeliveryStatus.SUCCEEDED), default=0),
            first=Min("created_at"),
            last=Max("delivered_at"),
        )
        undelivered = figures["pending"] + outbox.count()
        seconds = (figures["last"] - figures["first"]).total_seconds() if figures["last"] else 0
        drain = figures["last"].timestamp() - _last_outcome() if figures["last"] else 0
        return (
            f" webhook_events={figures['delivered'] + undelivered} undelivered={undelivered}"
            f" delivered_events_per_second={figures['delivered'] / max(seconds, 1e-9):.0f}"
            f" drain_seconds={drain:.1f}"
        )

    try:
        yield report
    finally:
        # Disabled, not deleted: the delivery worker may still be creating a delivery for it.
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
        receiver.terminate()
        receiver.wait()
        time.sleep(settle)


@contextlib.contextmanager
def _policy() -> Iterator[Report]:
    """The do-not-contact registry filled with M phones no debtor has (see the docstring)."""
    from django.utils import timezone

    from debtors.models import Debtor, DoNotContact, OptOutSource

    now = timezone.now()
    messages = Debtor.objects.filter(amount=POLICY_AMOUNT).count()
    DoNotContact.objects.bulk_create(
        (
            DoNotContact(phone_e164=f"+5731{i:08d}1", source=OptOutSource.OPERATOR, added_at=now)
            for i in range(messages)
        ),
        batch_size=10_000,
    )
    yield lambda: f" do_not_contact_rows={DoNotContact.objects.count()}"


VARIANTS: dict[str, Variant] = {"plain": _plain, "webhook": _webhook, "policy": _policy}
# The debtors of --policy, apart from those of the other variants by their amount.
PLAIN_AMOUNT, POLICY_AMOUNT = 1, 2


def _last_outcome(campaign_id: int | None = None) -> float:
    """When the last message (of the campaign, or of any) reached its outcome."""
    from django.db.models import Max
    from django.db.models.functions import Coalesce

    from campaigns.models import Message

    messages = Message.objects.all()
    if campaign_id is not None:
        messages = messages.filter(campaign_id=campaign_id)
    at = messages.aggregate(at=Max(Coalesce("sent_at", "failed_at", "updated_at")))["at"]
    return float(at.timestamp()) if at is not None else float("nan")


@dataclass
class Bench:
    url: str
    pool: Any
    # Per variant: the contact policy its campaign follows and the audience it writes to.
    campaigns: dict[str, tuple[Any, dict[str, object]]]
    connections: int
    autovacuum: Autovacuum
    worker_pids: list[int]
    default_worker_pid: int

    def run(self, name: str) -> float:
        """One campaign to every debtor; prints its line and returns its messages/s."""
        from django.db.models import Count

        from campaigns.models import Campaign, Message
        from campaigns.selectors import FINAL_STATUSES
        from campaigns.services import campaign_start
        from campaigns.sweep import engine_sweep
        from sessions_app.drivers.sandbox import read_send_log

        rate = commit_rate(self.url, self.connections)
        print(
            f"[{name}] commit_rate={rate:.0f} ({self.connections} connections,"
            f" {PROBE_SECONDS:.0f} s) autovacuum={self.autovacuum.describe()}"
            f" load average: {_load()}",
            file=sys.stderr,
        )
        sends_before = len(read_send_log())
        sweeps: list[float] = []
        with VARIANTS[name]() as report:
            policy, audience = self.campaigns[name]
            campaign = Campaign.objects.create(
                name=f"Bench {name}",
                template="Hola {name}",
                pool=self.pool,
                audience=audience,
                policy=policy,
            )
            fan_out_started = time.monotonic()
            campaign_start(campaign=campaign)
            fan_out = time.monotonic() - fan_out_started
            # Debtors who answered STOP to an earlier variant are no longer messaged.
            total = Message.objects.filter(campaign=campaign).count()
            commits_before = _commits(self.url)
            buffers_before = _buffers(self.url)
            # Where the CPU goes, less sensitive to a busy machine than the wall clock: the
            # workers, and the database connections they hold (kept open: DB_CONN_MAX_AGE).
            backends = _backends(self.url)
            cpu_before = (
                _cpu_seconds(self.worker_pids),
                _cpu_seconds([self.default_worker_pid]),
                _cpu_seconds(backends),
            )
            started_at = time.time()
            started = time.monotonic()
            sweep_due = started + SWEEP_SECONDS
            while True:
                counts = dict(
                    Message.objects.filter(campaign=campaign)
                    .values_list("status")
                    .annotate(n=Count("id"))
                )
                done = int(sum(n for status, n in counts.items() if status in FINAL_STATUSES))
                elapsed = time.monotonic() - started
                print(f"  {elapsed:6.1f}s {done:>8}/{total} {counts}", file=sys.stderr)
                if done >= total or elapsed > 1800:
                    break
                if time.monotonic() >= sweep_due:
                    # What beat runs every ENGINE_SWEEP_SECONDS, here in the bench's process.
                    sweep_started = time.monotonic()
                    engine_sweep()
                    sweeps.append(time.monotonic() - sweep_started)
                    sweep_due = time.monotonic() + SWEEP_SECONDS
                time.sleep(WATCH_SECONDS)
            commits = _commits(self.url) - commits_before
            buffers = _buffers(self.url) - buffers_before
            cpu = (
                _cpu_seconds(self.worker_pids) - cpu_before[0],
                _cpu_seconds([self.default_worker_pid]) - cpu_before[1],
                _cpu_seconds(backends) - cpu_before[2],
            )
            extra = report()

        phones = Counter(phone for _, _, phone in read_send_log()[sends_before:])
        duplicates = sum(n - 1 for n in phones.values() if n > 1)
        per_account = Counter(
            Message.objects.filter(campaign=campaign).values_list("session", flat=True)
        )
        sent_at = [
            at.timestamp()
            for at in Message.objects.filter(campaign=campaign)
            .exclude(sent_at=None)
            .order_by("sent_at")
            .values_list("sent_at", flat=True)
            if at is not None
        ]
        # Timed to the last outcome, not to when the watcher noticed it.
        elapsed = _last_outcome(campaign.pk) - started_at
        per_done = 1000 / max(done, 1)
        print(
            f"[{name}] fan-out of {total} messages: {fan_out:.2f} s; "
            f"per account min/max: {min(per_account.values())}/{max(per_account.values())}; "
            f"sweeps: {len(sweeps)}, longest {max(sweeps, default=0) * 1000:.0f} ms; "
            f"vacuums by the stand-in so far: {self.autovacuum.vacuums}; "
            f"load average after: {_load()}",
            file=sys.stderr,
        )
        print(
            f"[{name}] per message: {buffers / max(done, 1):.0f} buffer accesses, CPU ms"
            f" browser workers {cpu[0] * per_done:.2f} default worker {cpu[1] * per_done:.2f}"
            f" database {cpu[2] * per_done:.2f}"
            f" (the {len(backends)} connections open when the campaign started)",
            file=sys.stderr,
        )
        per_second = done / elapsed
        per_message = commits / max(done, 1)
        print(
            f"variant={name} messages_per_second={per_second:.1f} duplicates={duplicates}"
            f" lost={total - done} commits_per_message={per_message:.2f}"
            f" commit_rate={rate:.0f} limit_ratio={per_second / (rate / per_message):.2f}"
            f" slowdown={_slowdown(sent_at):.2f}{extra}",
            flush=True,
        )
        return per_second


def _vacuum(url: str) -> None:
    """Between variants: the next campaign starts without the last one's dead rows."""
    with psycopg.connect(url, autocommit=True) as conn:
        for name in VACUUMED_TABLES:
            conn.execute(f"VACUUM (ANALYZE) {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=20)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="browser worker processes")
    parser.add_argument(
        "--autovacuum", action="store_true", help="vacuum the tables as autovacuum would"
    )
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    parser.add_argument(
        "--webhook",
        action="store_true",
        help="also run a campaign with one endpoint taking every message event",
    )
    parser.add_argument(
        "--policy",
        action="store_true",
        help="also run a campaign under open windows and a cap of one a day, to debtors of its own",
    )
    args = parser.parse_args()
    others = [*(["webhook"] if args.webhook else []), *(["policy"] if args.policy else [])]
    variants = ["plain", *others, *(["plain"] if others else [])]

    url = database_url()
    state = Path(tempfile.mkdtemp(prefix="whatsmassive-bench-"))
    os.environ.update(
        WHATSAPP_DRIVER="sandbox",
        WHATSAPP_SANDBOX_LATENCY="0",
        WHATSAPP_PROFILES_DIR=str(state / "profiles"),
        WHATSAPP_SANDBOX_DIR=str(state / "sandbox"),
        REDIS_URL=redis_url(),
        HOST_HEARTBEAT_SECONDS="2",
        DB_CONN_MAX_AGE="600",
        # The receiver of --webhook listens on 127.0.0.1.
        WEBHOOK_ALLOW_PRIVATE="1",
    )
    print(f"load average before: {_load()}", file=sys.stderr)
    recreate_database(url)
    setup_django(url)
    migrate()

    import datetime

    from django.utils import timezone

    from debtors.models import Debtor
    from sessions_app.drivers import profile_dir_for
    from sessions_app.drivers.sandbox import LINKED_MARKER
    from sessions_app.models import Pool, PoolMember, SessionStatus, WhatsAppSession
    from sessions_app.services import session_connect

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
            # Warmed up, with a new-chat budget the run never spends: it measures the engine.
            new_chats_per_day=10**7,
            linked_at=timezone.now() - datetime.timedelta(days=60),
        )
        (profile_dir_for(session_id=account.pk) / LINKED_MARKER).touch()  # already linked
        accounts.append(account)
    from campaigns.models import ContactPolicy, always_open_windows

    open_policy = ContactPolicy.objects.create(
        name="Bench: open, no caps", windows=always_open_windows()
    )
    capped_policy = ContactPolicy.objects.create(
        name="Bench: open, one a day", windows=always_open_windows(), max_per_day=1
    )
    plain_audience = {"include_recent": True, "amount_max": str(PLAIN_AMOUNT)}
    policy_audience = {"include_recent": True, "amount_min": str(POLICY_AMOUNT)}
    campaigns = {
        "plain": (open_policy, plain_audience),
        "webhook": (open_policy, plain_audience),
        "policy": (capped_policy, policy_audience),
    }
    pool = Pool.objects.create(name="Bench pool")
    PoolMember.objects.bulk_create(
        PoolMember(pool=pool, session=account, position=i) for i, account in enumerate(accounts)
    )
    Debtor.objects.bulk_create(
        (
            Debtor(
                name=f"Debtor {i}",
                phone_e164=f"+5730{i:08d}1",
                reference=f"B-{i}",
                amount=PLAIN_AMOUNT,
            )
            for i in range(args.messages)
        ),
        batch_size=10_000,
    )
    if args.policy:
        Debtor.objects.bulk_create(
            (
                Debtor(
                    name=f"Debtor P{i}",
                    phone_e164=f"+5732{i:08d}1",
                    reference=f"P-{i}",
                    amount=POLICY_AMOUNT,
                )
                for i in range(args.messages)
            ),
            batch_size=10_000,
        )
    autovacuum = Autovacuum(url, on=args.autovacuum)

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    threads = max(1, -(-args.accounts // args.workers)) + 1
    command = [sys.executable, "-m", "celery", "-A", "whatsmassive", "worker"]
    options = ["-P", "threads", "--loglevel", "ERROR", "--without-gossip"]
    workers = [
        subprocess.Popen(
            [*command, "-Q", "browser", *options, "-c", str(threads), "-n", f"bench{i}@%h"],
            cwd=ROOT,
            env=env,
            stdout=sys.stderr,
        )
        for i in range(args.workers)
    ]
    # Live-progress pushes and webhook deliveries, as the default queue's worker in production.
    default_worker = subprocess.Popen(
        [*command, "-Q", "default", *options, "-c", "2", "-n", "benchdefault@%h"],
        cwd=ROOT,
        env=env,
        stdout=sys.stderr,
    )
    rates: dict[str, list[float]] = {}
    try:
        for account in accounts:
            session_connect(session=account)
        while WhatsAppSession.objects.filter(status=SessionStatus.CONNECTED).count() < len(
            accounts
        ):
            time.sleep(0.2)
        bench = Bench(
            url=url,
            pool=pool,
            campaigns=campaigns,
            connections=threads * args.workers,
            autovacuum=autovacuum,
            worker_pids=[worker.pid for worker in workers],
            default_worker_pid=default_worker.pid,
        )
        autovacuum.start()
        for index, name in enumerate(variants):
            if index:
                _vacuum(url)
            rates.setdefault(name, []).append(bench.run(name))
    finally:
        autovacuum.close()
        WhatsAppSession.objects.update(should_run=False)
        time.sleep(3)
        for worker in [*workers, default_worker]:
            worker.send_signal(signal.SIGTERM)
        for worker in [*workers, default_worker]:
            worker.wait(timeout=60)

    if not args.keep:
        from django.db import connections as django_connections

        django_connections.close_all()
        drop_database(url)
    plain = rates["plain"]
    for name in others:
        print(f"{name}_over_plain={rates[name][0] / (sum(plain) / len(plain)):.2f}")
    if others:
        print(f"plain_drift={plain[-1] / plain[0]:.2f}")


if __name__ == "__main__":
    main()
