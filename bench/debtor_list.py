"""Debtor list benchmark: first page, searches, filters and a deep page at 1,000,000 debtors.

    python bench/debtor_list.py --debtors 1000000

Loads the debtors with COPY into a throwaway database (DATABASE_URL, default
whatsmassive_bench_list), VACUUM ANALYZEs, then times full requests through Django's test
client (view, queries, template), the median of 7 after one warm-up each. Ends with one line
`first_page_ms=X search_ms=Y` (search: the slowest of the searches).
"""

import argparse
import datetime
import os
import random
import statistics
import sys
import time

from common import ROOT, drop_database, migrate, recreate_database, setup_django

NAMES = ["Lucía", "Iván", "María José", "Andrés", "Sofía", "Julián", "Camila", "Óscar", "Ana"]
SURNAMES = ["Restrepo", "Peña", "Gómez", "Núñez", "Rodríguez", "Martínez", "Zuluaga", "Díaz"]
STATUSES = ["new"] * 90 + ["sent"] * 5 + ["delivered"] * 3 + ["read"] + ["replied"]
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/whatsmassive_bench_list"


def _national(n: int) -> str:
    return f"3{n % 20 + 10}{n:07d}"


def load(debtors: int) -> float:
    from django.db import connection

    rng = random.Random(7)
    now = datetime.datetime.now(datetime.UTC)
    started = time.perf_counter()
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(
            "COPY debtors_debtor (name, phone_e164, phone_raw, amount, currency, due_date,"
            " reference, extra, status, opted_out, created_at, updated_at) FROM STDIN"
        ) as copy,
    ):
        for n in range(debtors):
            national = _national(n)
            copy.write_row(
                [
                    f"{rng.choice(NAMES)} {rng.choice(SURNAMES)} {n}",
                    f"+57{national}",
                    national,
                    f"{rng.randrange(1000, 50_000_000) / 100:.2f}",
                    "COP",
                    datetime.date(2026, 1, 1) + datetime.timedelta(days=n % 730),
                    f"CR-{n:08d}",
                    "{}",
                    rng.choice(STATUSES),
                    n % 200 == 0,
                    now,
                    now,
                ]
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE debtors_debtor")
    return time.perf_counter() - started


def timed(client: object, url: str, params: dict[str, str], runs: int = 7) -> float:
    get = client.get  # type: ignore[attr-defined]
    response = get(url, params)
    assert response.status_code == 200, response.status_code
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        get(url, params)
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debtors", type=int, default=1_000_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    try:
        setup_django(url, debug=True)
        migrate()
        seconds = load(args.debtors)
        print(f"loaded {args.debtors:,} debtors in {seconds:.1f} s", file=sys.stderr)
        from django.contrib.auth.models import User
        from django.test import Client

        from debtors.models import Debtor
        from debtors.selectors import _encode_cursor

        user = User.objects.create_superuser("bench", password=None)
        client = Client()
        client.force_login(user)
        middle = Debtor.objects.order_by("name", "id")[
            args.debtors // 2 : args.debtors // 2 + 1
        ].get()
        n = args.debtors // 3
        phone = _national(n)
        cases = {
            "first page": {},
            "search common surname": {"q": "Restrepo"},
            "search rare name": {"q": f"Peña {n}"},
            "search full phone": {"q": f"{phone[:3]} {phone[3:6]} {phone[6:]}"},
            "search phone digits": {"q": f"{n:07d}"},
            "search reference": {"q": f"CR-{n:08d}"},
            "filter status read": {"status": "read"},
            "filter amount range": {"amount_min": "100000", "amount_max": "100500"},
            "deep keyset page": {"after": _encode_cursor(middle)},
        }
        results = {}
        for label, params in cases.items():
            results[label] = timed(client, "/debtors/", params)
            print(f"{label:24} {results[label]:7.1f} ms  {params}", file=sys.stderr)
        search = max(ms for label, ms in results.items() if label.startswith("search"))
        print(f"first_page_ms={results['first page']:.1f} search_ms={search:.1f}")
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
