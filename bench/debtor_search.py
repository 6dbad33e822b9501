"""Debtor search benchmark: the accent- and case-insensitive search with its indexes, next to
a sequential scan of the same query.

    python bench/debtor_search.py --debtors 100000

Loads the debtors as bench/debtor_list.py does (COPY into a throwaway database, DATABASE_URL,
default whatsmassive_bench_search, then VACUUM ANALYZE). For each search it prints the
plan's scan nodes and the median of 7 `EXPLAIN ANALYZE` execution times, first as the
planner chooses, then with index scans turned off. Ends with one line
`indexed_ms=X seq_scan_ms=Y` (the slowest search of each).
"""

import argparse
import os
import re
import statistics
import sys
from collections.abc import Sequence
from typing import Any

from common import ROOT, drop_database, migrate, recreate_database, setup_django
from debtor_list import load

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/whatsmassive_bench_search"
SEQ_SCAN = ["SET LOCAL enable_indexscan = off", "SET LOCAL enable_bitmapscan = off"]


def explain(sql: str, params: Sequence[Any], settings: list[str]) -> tuple[list[str], float]:
    from django.db import connection, transaction

    samples = []
    nodes: list[str] = []
    for _ in range(8):
        with transaction.atomic(), connection.cursor() as cursor:
            for statement in settings:
                cursor.execute(statement)
            cursor.execute(f"EXPLAIN (ANALYZE, FORMAT TEXT) {sql}", params)
            lines = [row[0] for row in cursor.fetchall()]
        nodes = [
            match.group(1).strip()
            for line in lines
            if (match := re.search(r"((?:Bitmap Index|Bitmap Heap|Index|Seq) Scan[^(]*)", line))
        ]
        time = next(line for line in lines if line.startswith("Execution Time"))
        samples.append(float(time.split(":")[1].split()[0]))
    return nodes, statistics.median(samples[1:])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--debtors", type=int, default=100_000)
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", DEFAULT_URL)
    recreate_database(url)
    try:
        setup_django(url)
        migrate()
        seconds = load(args.debtors)
        print(f"loaded {args.debtors:,} debtors in {seconds:.1f} s", file=sys.stderr)
        from debtors.selectors import debtor_search

        n = args.debtors // 3
        searches = ["pena", f"PEÑA {n}", "oscar nunez", f"jose {n}", f"cr-{n:08d}"]
        worst = {"indexed": 0.0, "seq scan": 0.0}
        for q in searches:
            sql, params = debtor_search(q=q).query.sql_with_params()
            for label, settings in (("indexed", []), ("seq scan", SEQ_SCAN)):
                nodes, ms = explain(sql, params, settings)
                worst[label] = max(worst[label], ms)
                print(f"{q!r:22} {label:9} {ms:8.2f} ms  {'; '.join(nodes)}", file=sys.stderr)
        print(f"indexed_ms={worst['indexed']:.2f} seq_scan_ms={worst['seq scan']:.2f}")
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url)


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    main()
