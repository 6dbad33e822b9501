import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

import phonenumbers
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from debtors.imports.engine import ErrorReport, import_file
from debtors.imports.readers import ImportFileError, check_filename, inspect_file

FILE_ERROR_EXIT = 2


class Command(BaseCommand):
    help = (
        "Import debtors from a CSV, XLSX, ODS or XLS file (columns guessed from the headers). "
        "Prints `imported=N updated=N duplicates=N invalid=N`; exits 2 when the file is unusable."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("path", type=Path)
        parser.add_argument(
            "--region",
            default=settings.DEFAULT_PHONE_REGION,
            help="country for phones without a country code (default: %(default)s)",
        )
        parser.add_argument(
            "--update-existing",
            action="store_true",
            help="update debtors whose phone is already known (default: count them as duplicates)",
        )
        parser.add_argument(
            "--errors-csv", type=Path, help="write the rows not imported, with reasons, here"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="check and count everything, write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["path"]
        region = options["region"].upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise CommandError(f"Unknown region {region!r} (try CO, MX, US).", returncode=2)
        if not path.is_file():
            raise CommandError(f"{path}: no such file.", returncode=FILE_ERROR_EXIT)
        errors_path: Path | None = options["errors_csv"]
        target = errors_path or Path(os.devnull)
        try:
            with (
                target.open("w", encoding="utf-8", newline="") as report_file,
                transaction.atomic(),
            ):
                check_filename(path.name)
                counts = import_file(
                    path=path,
                    info=inspect_file(path),
                    mapping=None,
                    region=region,
                    update_existing=options["update_existing"],
                    report=ErrorReport(report_file),
                )
                if options["dry_run"]:
                    transaction.set_rollback(True)
        except ImportFileError as exc:
            raise CommandError(
                f"{path}: {exc} Nothing was imported.", returncode=FILE_ERROR_EXIT
            ) from exc
        self.stdout.write(counts.summary())
