"""API benchmark: bulk upsert against the CSV import of the same rows, and webhook delivery.

    python bench/http_api.py --debtors 100000 --events 20000

1. Bulk upsert: the debtors go through `POST /api/v1/debtors/bulk/` in requests of 10,000
   (Django's test client: authentication, JSON, idempotency key, view, import engine,
   commit), then the table is emptied and the same rows, as a CSV file, go through the
   import engine the wizard uses. Goal: the API within 2x of the file.
2. Webhooks: `message.sent` events of as many messages to the imported debtors are
   written to the outbox for one endpoint (batches of 100) and delivered, signed, to a
   receiver on 127.0.0.1 (its own process) by one delivery loop, each payload written out
   from its message and debtor as delivery takes it. Goal: 1,000 events/s.

Ends with one line:
`bulk_seconds=X csv_seconds=Y ratio=Z webhook_events_per_second=W`.
"""

import argparse
import csv
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import database_url, drop_database, migrate, recreate_database, setup_django

REQUEST_ROWS = 10_000
PREFIXES = ["300", "301", "310", "311", "312", "313", "315", "316", "317", "318", "320", "350"]


def _rows(count: int) -> list[dict[str, Any]]:
    rng = random.Random(13)
    numbers = rng.sample(range(10_000_000), count)
    return [
        {
            "phone": f"{PREFIXES[i % len(PREFIXES)]}{number:07d}",
            "name": f"Debtor {i}",
            "amount": f"{rng.randrange(10_000, 5_000_000)}.{rng.randrange(100):02d}",
            "due_date": f"2027-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
            "reference": f"OB-{i}",
            "extra": {"ciudad": rng.choice(["Bogotá", "Medellín", "Cali"])},
        }
        for i, number in enumerate(numbers)
    ]


def _bulk_seconds(rows: list[dict[str, Any]]) -> float:
    from django.contrib.auth.models import User
    from django.test import Client

    from api.services import api_key_create
    from api.throttling import KeyRateThrottle

    KeyRateThrottle.THROTTLE_RATES = {"key": "100000/min"}
    user = User.objects.create_superuser("bench", "bench@example.com", "x" * 20)
    _, secret = api_key_create(user=user, name="bench", scope="write")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {secret}")
    bodies = [
        json.dumps({"debtors": rows[start : start + REQUEST_ROWS]})
        for start in range(0, len(rows), REQUEST_ROWS)
    ]
    started = time.perf_counter()
    for index, body in enumerate(bodies):
        response = client.post(
            "/api/v1/debtors/bulk/",
            data=body,
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"bench-{index}",
        )
        if response.status_code != 200:
            raise SystemExit(
                f"bulk request {index} failed: {response.status_code} {response.content[:300]!r}"
            )
    return time.perf_counter() - started


def _csv_seconds(rows: list[dict[str, Any]]) -> float:
    from django.db import transaction

    from debtors.imports.engine import ErrorReport, import_file
    from debtors.imports.readers import inspect_file

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "debtors.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Nombre", "Celular", "Monto", "Fecha", "Referencia", "Ciudad"])
            for row in rows:
                writer.writerow(
                    [row["name"], row["phone"], row["amount"], row["due_date"], row["reference"],
                     row["extra"]["ciudad"]]
                )  # fmt: skip
        started = time.perf_counter()
        with open(os.devnull, "w") as sink, transaction.atomic():
            counts = import_file(
                path=path,
                info=inspect_file(path),
                mapping=None,
                region="CO",
                update_existing=True,
                report=ErrorReport(sink),
            )
        seconds = time.perf_counter() - started
    if counts.imported != len(rows):
        raise SystemExit(f"the CSV import took {counts.imported} of {len(rows)} rows")
    return seconds


def _webhook_events_per_second(events: int) -> float:
    """`message.sent` events of as many messages to the imported debtors, delivered."""
    from django.contrib.auth.models import User
    from django.db import transaction

    from campaigns.models import Campaign, Message, MessageStatus
    from debtors.models import Debtor
    from sessions_app.models import Pool, WhatsAppSession
    from webhooks.delivery import webhooks_deliver_pending
    from webhooks.models import DeliveryStatus, EventType, WebhookDelivery
    from webhooks.services import endpoint_create, message_events_emit

    account = WhatsAppSession.objects.create(name="Bench")
    campaign = Campaign.objects.create(
        name="Bench", template="Hola {name}", pool=Pool.objects.create(name="Bench")
    )
    Message.objects.bulk_create(
        (
            Message(
                campaign=campaign,
                debtor_id=debtor,
                body="Hola",
                status=MessageStatus.SENT,
                session=account,
                attempts=1,
                wa_message_id=f"true_{debtor}@c.us_3EB0{debtor:016X}",
            )
            for debtor in Debtor.objects.order_by("pk").values_list("pk", flat=True)[:events]
        ),
        batch_size=5_000,
    )
    port = 18766
    receiver = subprocess.Popen(
        [sys.executable, str(Path(__file__).parent / "receiver.py"), str(port)]
    )
    time.sleep(1)  # let it listen
    try:
        endpoint_create(
            url=f"http://127.0.0.1:{port}/hooks",
            event_types=[EventType.MESSAGE_SENT],
            batch_size=100,
            by=User.objects.first(),
        )
        messages = list(Message.objects.values_list("pk", flat=True))
        with transaction.atomic():
            for start in range(0, len(messages), 1_000):
                message_events_emit(
                    (EventType.MESSAGE_SENT, pk) for pk in messages[start : start + 1_000]
                )
        started = time.perf_counter()
        webhooks_deliver_pending(budget_seconds=600)
        seconds = time.perf_counter() - started
        delivered = WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count()
        if delivered * 100 < len(messages):
            raise SystemExit(f"only {delivered} deliveries succeeded")
        return len(messages) / seconds
    finally:
        receiver.terminate()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--debtors", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=20_000)
    args = parser.parse_args()
    os.environ["WEBHOOK_ALLOW_PRIVATE"] = "1"
    url = database_url()
    recreate_database(url)
    try:
        setup_django(url)
        migrate()
        from debtors.models import Debtor

        rows = _rows(args.debtors)
        bulk = _bulk_seconds(rows)
        if Debtor.objects.count() != args.debtors:
            raise SystemExit("the bulk upsert did not write every debtor")
        Debtor.objects.all().delete()
        csv_seconds = _csv_seconds(rows)
        rate = _webhook_events_per_second(args.events)
        print(f"bulk: {args.debtors:,} debtors in requests of {REQUEST_ROWS:,}: {bulk:.2f} s")
        print(f"csv import of the same rows: {csv_seconds:.2f} s")
        print(f"webhooks: {args.events:,} events, batches of 100: {rate:,.0f} events/s")
        print(
            f"bulk_seconds={bulk:.2f} csv_seconds={csv_seconds:.2f} "
            f"ratio={bulk / csv_seconds:.2f} webhook_events_per_second={rate:.0f}"
        )
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url)


if __name__ == "__main__":
    main()
