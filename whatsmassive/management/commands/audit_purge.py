import datetime
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from whatsmassive.services import AuditRetentionError, audit_records_purge


def _date(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--before must be a date (YYYY-MM-DD), got {value!r}") from exc


class Command(BaseCommand):
    help = (
        "Delete audit records from before DATE (midnight, TIME_ZONE). Refused when DATE lies "
        "inside the retention period (AUDIT_RETENTION_DAYS)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--before", required=True, metavar="DATE", help="YYYY-MM-DD")

    def handle(self, *args: Any, **options: Any) -> None:
        day = _date(options["before"])
        before = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
        try:
            deleted = audit_records_purge(before=before)
        except AuditRetentionError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"purged={deleted}")
