"""Debtor import benchmark: messy CSV and XLSX files end to end, against a raw COPY.

    python bench/imports.py --rows 100000                        # mixed and national phones
    python bench/imports.py --rows 1000000 --formats csv --shapes mixed

For each phone shape set (`mixed`: a third national `3001234567`, a third `+57 300 123 4567`,
a third `573001234567`; `national`: all national; `messy`: six shapes with separators,
`0057`, `.0`, parentheses) it generates a realistic file (2% invalid, 3% repeated, amounts
and dates in local formats, an extra column), imports it through the same engine as the
wizard and `manage.py import_debtors` (inspect, parse, normalise, dedupe, write, commit) in a
fresh process so its peak RSS is its own, then COPYs the same rows, already clean, into the
same table in the same run: the reference beside each figure, since the machine is shared.
First it checks the phone fast path against phonenumbers.parse on random numbers over
several regions (`--check-phones N`). One line per shape and format:
`shape=mixed format=csv import_seconds=X copy_seconds=Y ratio=Z peak_rss_mb=W`.
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


def _mixed_phone(national: str, rng: random.Random) -> str:
    shape = rng.randrange(3)
    if shape == 0:
        return national
    if shape == 1:
        return f"+57 {national[:3]} {national[3:6]} {national[6:]}"
    return f"57{national}"


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


PHONE_SHAPES = {
    "mixed": _mixed_phone,
    "national": lambda national, rng: national,
    "messy": _messy_phone,
}


def generate(rows: int, directory: Path, formats: list[str], shape: str) -> dict[str, Path]:
    """Messy CSV (and XLSX) plus the clean rows COPY will load, written as they are made."""
    rng = random.Random(20261124)
    phone_of = PHONE_SHAPES[shape]
    directory = directory / shape
    directory.mkdir()
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
                phone, taken = phone_of(national, rng), False  # the previous row again
            else:
                phone = phone_of(national, rng)
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


def check_phones(count: int) -> None:
    """The fast path against phonenumbers.parse on random numbers in the regions' shapes."""
    import phonenumbers

    from debtors.imports import values

    regions = ["CO", "MX", "US", "CA", "GB", "AR", "BR", "ES", "DE", "IT", "IN", "RU", "PE"]
    rng = random.Random(7)
    fast = 0
    for n in range(count):
        region = regions[n % len(regions)]
        code = str(phonenumbers.country_code_for_region(region))
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        digits = str(example.national_number) if example else "3001234567"
        keep = rng.randrange(1, 4)
        national = digits[:keep] + "".join(rng.choice("0123456789") for _ in digits[keep:])
        text = rng.choice([national, f"+{code}{national}", f"{code}{national}", f"0{national}"])
        result = values._region_e164(text, region)
        if result is None:
            continue
        fast += 1
        try:
            number = phonenumbers.parse(text, region)
            expected = (
                phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
                if phonenumbers.is_valid_number(number)
                else None
            )
        except phonenumbers.NumberParseException:
            expected = None
        if result != expected:
            sys.exit(f"fast path differs for {text!r} in {region}: {result} != {expected}")
    print(
        f"phones: {count:,} random numbers over {len(regions)} regions, {fast:,} took the fast"
        f" path, all identical to phonenumbers.parse",
        file=sys.stderr,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--formats", default="csv")
    parser.add_argument("--shapes", default="mixed,national")
    parser.add_argument("--check-phones", type=int, default=200_000)
    parser.add_argument("--run", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = database_url()
    if args.run:
        setup_django(url)
        print(json.dumps(run_import(args.run)))
        return
    formats = [name.strip() for name in args.formats.split(",") if name.strip()]
    shapes = [name.strip() for name in args.shapes.split(",") if name.strip()]
    recreate_database(url)
    try:
        setup_django(url)
        migrate()
        if args.check_phones:
            check_phones(args.check_phones)
        for shape in shapes:
            with tempfile.TemporaryDirectory() as directory:
                started = time.perf_counter()
                paths = generate(args.rows, Path(directory), formats, shape)
                print(
                    f"{shape}: generated {args.rows:,} rows in"
                    f" {time.perf_counter() - started:.1f} s",
                    file=sys.stderr,
                )
                for name in formats:
                    result = _import_in_a_fresh_process(paths[name])
                    copy_seconds = copy_clean(paths["clean"])
                    size_mb = paths[name].stat().st_size / 1048576
                    print(f"{shape} {name}: {size_mb:.1f} MB, {result}", file=sys.stderr)
                    seconds = float(result["seconds"])
                    print(
                        f"shape={shape} format={name} import_seconds={seconds:.2f}"
                        f" copy_seconds={copy_seconds:.2f} ratio={seconds / copy_seconds:.2f}"
                        f" peak_rss_mb={float(result['peak_rss_mb']):.0f}",
                        flush=True,
                    )
    finally:
        from django.db import connections

        connections.close_all()
        drop_database(url)


def _import_in_a_fresh_process(path: Path) -> dict[str, float | str]:
    # A million messy rows take ~75 MB, above the 50 MB upload default.
    env = {**os.environ, "IMPORT_MAX_BYTES": str(1024 * 1024 * 1024)}
    output = subprocess.run(
        [sys.executable, __file__, "--run", str(path)],
        capture_output=True,
        text=True,
        env=env,
    )
    if output.returncode:
        sys.exit(f"the import of {path} failed:\n{output.stderr}")
    result: dict[str, float | str] = json.loads(output.stdout.strip().splitlines()[-1])
    return result


if __name__ == "__main__":
    main()
