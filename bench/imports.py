"""Debtor import benchmark: messy CSV and XLSX files end to end, against a raw COPY.

    python bench/imports.py --rows 100000              # CSV and XLSX
    python bench/imports.py --rows 1000000 --formats csv

Generates realistic messy files (phones in every common shape, 2% invalid, 3% repeated,
amounts and dates in local formats, an extra column), imports each through the same
engine as the wizard and `manage.py import_debtors` (parse, normalise, dedupe, write, commit)
in a fresh process so its peak RSS is its own, then COPYs the same rows, already clean, into
the same table. Ends with one line:
`csv_seconds=X xlsx_seconds=Y copy_seconds=Z peak_rss_mb=W`.
"""

import argparse
import csv
import datetime
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import database_url, drop_database, migrate, recreate_database, setup_django

NAMES = ["Lucía", "Iván", "María José", "Andrés", "Sofía", "Julián", "Camila", "Óscar", "Ana"]
SURNAMES = ["Restrepo", "Peña", "Gómez", "Núñez", "Rodríguez", "Martínez", "Zuluaga", "Díaz"]
CITIES = ["Bogotá", "Medellín", "Cali", "Barranquilla", "Cartagena", "Bucaramanga"]
# Colombian mobile prefixes, so the generated numbers are valid ones.
PREFIXES = [
    "300",
    "301",
    "302",
    "304",
    "305",
    "310",
    "311",
    "312",
    "313",
    "314",
    "315",
    "316",
    "317",
    "318",
    "319",
    "320",
    "321",
    "322",
    "323",
    "350",
    "351",
]
HEADER = ["Nombre", "Celular", "Monto", "Fecha de vencimiento", "Referencia", "Ciudad"]


def _messy_phone(national: str, rng: random.Random) -> str:
    shape = rng.randrange(6)
    if shape == 0:
        return f"{national[:3]} {national[3:6]} {national[6:]}"
    if shape == 1:
        return f"+57 {national[:3]}-{national[3:6]}-{national[6:]}"
    if shape == 2:
        return f"0057{national}"
    if shape == 3:
        return f"{national}.0"
    if shape == 4:
        return f"({national[:3]}) {national[3:]}"
    return national


def _messy_amount(cents: int, rng: random.Random) -> str:
    whole, fraction = divmod(cents, 100)
    shape = rng.randrange(4)
    if shape == 0:
        return f"{whole:,}".replace(",", ".") + f",{fraction:02d}"
    if shape == 1:
        return f"{whole:,}.{fraction:02d}"
    if shape == 2:
        return "$ " + f"{whole:,}".replace(",", " ")
    return f"{whole}.{fraction:02d}"


def _messy_date(day: datetime.date, rng: random.Random) -> str:
    shape = rng.randrange(3)
    if shape == 0:
        return day.isoformat()
    if shape == 1:
        return day.strftime("%d/%m/%Y")
    return str((day - datetime.date(1899, 12, 30)).days)


def generate(rows: int, directory: Path, formats: list[str]) -> dict[str, Path]:
    """Messy CSV (and XLSX) plus the clean rows COPY will load, written as they are made."""
    rng = random.Random(20261124)
    paths = {"csv": directory / "debtors.csv", "clean": directory / "clean.csv"}
    workbook = sheet = None
    if "xlsx" in formats:
        from openpyxl import Workbook

        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("Deudores")
        sheet.append(HEADER)
        paths["xlsx"] = directory / "debtors.xlsx"
    base = datetime.date(2026, 1, 1)
    with (
        paths["csv"].open("w", encoding="utf-8", newline="") as messy_file,
        paths["clean"].open("w", encoding="utf-8", newline="") as clean_file,
    ):
        messy, clean = csv.writer(messy_file, delimiter=";"), csv.writer(clean_file)
        messy.writerow(HEADER)
        for n in range(rows):
            national = f"{PREFIXES[n % len(PREFIXES)]}{n:07d}"
            roll = rng.random()
            taken = True
            if roll < 0.02:
                phone, taken = f"12{n}", False  # too short for any region
            elif roll < 0.05 and n:
                previous = n - 1
                national = f"{PREFIXES[previous % len(PREFIXES)]}{previous:07d}"
                phone, taken = _messy_phone(national, rng), False  # the previous row again
            else:
                phone = _messy_phone(national, rng)
            name = f"{rng.choice(NAMES)} {rng.choice(SURNAMES)} {n}"
            cents = rng.randrange(1000, 500_000_000)
            day = base + datetime.timedelta(days=rng.randrange(730))
            reference = f"CR-{n:08d}"
            city = rng.choice(CITIES)
            row = [name, phone, _messy_amount(cents, rng), _messy_date(day, rng), reference, city]
            messy.writerow(row)
            if sheet is not None:
                sheet.append(row)
            if taken:
                clean.writerow(
                    [
                        name,
                        f"+57{national}",
                        phone,
                        f"{cents / 100:.2f}",
                        "COP",
                        day.isoformat(),
                        reference,
                        json.dumps({"ciudad": city}),
                    ]
                )
    if workbook is not None:
        workbook.save(paths["xlsx"])
    return paths


def run_import(path: Path) -> dict[str, float | str]:
    """Runs in its own process: one import, timed from opening the file to the commit."""
    from django.db import connection, transaction

    from debtors.imports.engine import ErrorReport, import_file
    from debtors.imports.readers import inspect_file

    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE debtors_debtor CASCADE")
    with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as report:
        started = time.perf_counter()
        with transaction.atomic():
            counts = import_file(
                path=path,
                info=inspect_file(path),
                mapping=None,
                region="CO",
                update_existing=False,
                report=ErrorReport(report),
            )
        seconds = time.perf_counter() - started
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"seconds": seconds, "peak_rss_mb": peak_kb / 1024, "summary": counts.summary()}


def copy_clean(path: Path) -> float:
    from django.db import connection

    columns = "name, phone_e164, phone_raw, amount, currency, due_date, reference, extra"
    with connection.cursor() as cursor:
        cursor.execute("TRUNCATE debtors_debtor CASCADE")
        started = time.perf_counter()
        with (
            cursor.cursor.copy(
                f"COPY debtors_debtor ({columns}, status, opted_out, created_at, updated_at)"
                " FROM STDIN WITH (FORMAT csv)"
            ) as copy,
            path.open(encoding="utf-8") as source,
        ):
            # status, opted_out and timestamps are constant: appended to each clean line.
            now = datetime.datetime.now(datetime.UTC).isoformat()
            suffix = f",new,f,{now},{now}\n"
            for line in source:
                copy.write(line.rstrip("\r\n") + suffix)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", default="csv,xlsx")
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = database_url()
    if args.run:
        setup_django(url)
        print(json.dumps(run_import(args.run)))
        return
    formats = [name.strip() for name in args.formats.split(",") if name.strip()]
    recreate_database(url)
    try:
        setup_django(url)
        migrate()
        with tempfile.TemporaryDirectory() as directory:
            started = time.perf_counter()
            paths = generate(args.rows, Path(directory), formats)
            print(
                f"generated {args.rows:,} rows in {time.perf_counter() - started:.1f} s",
                file=sys.stderr,
            )
            results: dict[str, dict[str, float | str]] = {}
            for name in formats:
                # A million messy rows take ~75 MB, above the 50 MB upload default.
                env = {**os.environ, "IMPORT_MAX_BYTES": str(1024 * 1024 * 1024)}
                output = subprocess.run(
                    [sys.executable, __file__, "--run", str(paths[name])],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                if output.returncode:
                    sys.exit(f"the {name} import failed:\n{output.stderr}")
                results[name] = json.loads(output.stdout.strip().splitlines()[-1])
                size_mb = paths[name].stat().st_size / 1048576
                print(f"{name}: {size_mb:.1f} MB, {results[name]}", file=sys.stderr)
            copy_seconds = copy_clean(paths["clean"])
        peak = max(float(result["peak_rss_mb"]) for result in results.values())

        def seconds(name: str) -> str:
            return f"{float(results[name]['seconds']):.2f}" if name in results else "-"

        print(
            f"csv_seconds={seconds('csv')} xlsx_seconds={seconds('xlsx')} "
            f"copy_seconds={copy_seconds:.2f} peak_rss_mb={peak:.0f}"
        )
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url)


if __name__ == "__main__":
    main()
