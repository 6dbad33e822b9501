"""Results benchmark: outcome counts, the audience guards and the exports at N messages.

    python bench/results.py --messages 100000

One campaign sends N messages to N debtors (8% replied, 3% promised after the send, 1%
opted out), loaded with COPY into a throwaway database (DATABASE_URL, default
whatsmassive_bench_results), then VACUUM ANALYZE. Each figure is the median of 5 after one
warm-up, printed with a same-run reference and the ratio:

- outcomes (replied/opted out/promised, one grouped query) against the campaign's progress
  counts (the grouped count every campaign page already runs);
- the audience with its closed and re-contact guards against the same filters without them;
- the debtor export's rows (latest reply and disposition per debtor) against the same rows
  without those columns.
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time
from collections.abc import Callable

from common import drop_database, migrate, recreate_database, setup_django

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/whatsmassive_bench_results"


def load(n: int) -> int:
    from django.db import connection

    from campaigns.models import Campaign
    from sessions_app.models import Pool

    rng = random.Random(11)
    now = datetime.datetime.now(datetime.UTC)
    sent = now - datetime.timedelta(days=2)
    pool = Pool.objects.create(name="bench")
    campaign = Campaign.objects.create(name="bench", template="Hola", pool=pool, status="completed")
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY debtors_debtor (name, phone_e164, phone_raw, amount, currency, reference,"
            " extra, status, opted_out, created_at, updated_at) FROM STDIN"
        ) as copy:
            for i in range(n):
                status = "paid" if i % 50 == 0 else "read"
                copy.write_row(
                    [f"Debtor {i}", f"+5730{i:08d}", "", "1000.00", "COP", f"R-{i}", "{}",
                     status, i % 100 == 0, now, now]
                )  # fmt: skip
        cursor.execute("SELECT id FROM debtors_debtor ORDER BY id")
        ids = [row[0] for row in cursor.fetchall()]
        with cursor.cursor.copy(
            "COPY campaigns_message (campaign_id, debtor_id, body, status, attempts, last_error,"
            " wa_message_id, reply_text, replied_at, sent_at, created_at, updated_at)"
            " FROM STDIN"
        ) as copy:
            for i, debtor_id in enumerate(ids):
                replied = rng.random() < 0.08
                copy.write_row(
                    [campaign.pk, debtor_id, "Hola", "read", 1, "", f"wa{i}",
                     "Ya pagué" if replied else "", now if replied else None, sent, now, now]
                )  # fmt: skip
        with cursor.cursor.copy(
            "COPY debtors_disposition (debtor_id, kind, amount, date, note, at) FROM STDIN"
        ) as copy:
            for debtor_id in ids[::33]:
                copy.write_row([debtor_id, "promise", "500.00", now.date(), "", now])
        cursor.execute(
            "UPDATE debtors_debtor d SET current_disposition_id = p.id"
            " FROM debtors_disposition p WHERE p.debtor_id = d.id"
        )
        for table in ("debtors_debtor", "campaigns_message", "debtors_disposition"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    return campaign.pk


def median_ms(work: Callable[[], object], runs: int = 5) -> float:
    work()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    try:
        setup_django(url)
        migrate()
        campaign_id = load(args.messages)
        from campaigns.audience import audience_debtors, audience_filtered
        from campaigns.models import Campaign
        from campaigns.results import campaign_outcomes_many
        from campaigns.selectors import campaign_progress
        from debtors.exports import debtor_export_rows
        from debtors.models import Debtor

        campaign = Campaign.objects.get(pk=campaign_id)
        outcomes = campaign_outcomes_many(campaign_ids=[campaign_id])[campaign_id]
        print(f"{args.messages:,} messages: {outcomes}", file=sys.stderr)
        columns = ["name", "phone_e164", "amount", "currency", "due_date", "reference", "status"]
        pairs = {
            "outcomes": (
                lambda: campaign_outcomes_many(campaign_ids=[campaign_id]),
                lambda: campaign_progress(campaign=campaign),
            ),
            "audience": (
                lambda: audience_debtors(audience={}).count(),
                lambda: audience_filtered({}).count(),
            ),
            "export": (
                lambda: sum(1 for _ in debtor_export_rows(Debtor.objects.all())),
                lambda: sum(
                    1
                    for _ in Debtor.objects.order_by("name", "id")
                    .values_list(*columns, "opted_out", "extra")
                    .iterator(chunk_size=2000)
                ),
            ),
        }
        line = []
        for label, (measured, reference) in pairs.items():
            ms, ref = median_ms(measured), median_ms(reference)
            print(
                f"{label:9} {ms:8.1f} ms  reference {ref:8.1f} ms  ratio {ms / ref:.2f}",
                file=sys.stderr,
            )
            line.append(f"{label}_ms={ms:.1f} {label}_ratio={ms / ref:.2f}")
        print(" ".join(line))
    finally:
        drop_database(url)


if __name__ == "__main__":
    main()
