import datetime
import logging
import tempfile
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from django.contrib.auth.models import User
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils import timezone

from campaigns.models import Message, MessageStatus
from debtors.imports.engine import ErrorReport, ImportCounts, import_file
from debtors.imports.mapping import Mapping, guess_mapping
from debtors.imports.readers import ImportFileError, check_size, inspect_file, open_table
from debtors.models import Debtor, DebtorImport, DebtorStatus, ImportStatus, OptOutSource
from debtors.selectors import debtor_import_file_info
from webhooks.models import EventType
from webhooks.services import debtor_events_emit
from whatsmassive import realtime

logger = logging.getLogger(__name__)


def _messages_skip_unsent(*, debtor_ids: list[int], reason: str, now: datetime.datetime) -> int:
    """Skip the debtors' messages not handed to WhatsApp yet (pending, or claimed and not
    yet sending), and tell those messages' campaigns' pages."""
    skipped = Message.objects.filter(
        debtor_id__in=debtor_ids, status__in=[MessageStatus.PENDING, MessageStatus.CLAIMED]
    ).update(status=MessageStatus.SKIPPED, lease_until=None, last_error=reason, updated_at=now)
    if skipped:
        # The campaigns of exactly the messages just skipped: their stamp says which.
        just_skipped = Message.objects.filter(
            debtor_id__in=debtor_ids, status=MessageStatus.SKIPPED, updated_at=now
        )
        realtime.campaigns_progress_changed(just_skipped.values_list("campaign_id", flat=True))
    return skipped


@transaction.atomic
def debtor_opt_out(*, debtors: QuerySet[Debtor], at: datetime.datetime, source: str) -> int:
    """Opt debtors out: no message is sent to them again.

    Their messages not handed to WhatsApp yet (pending, or claimed and not yet sending) are
    skipped at once, and the pages of those messages' campaigns are told. Returns how many
    debtors changed; those already opted out keep their first opt-out time.
    """
    ids = list(debtors.values_list("pk", flat=True))
    now = timezone.now()
    changed = Debtor.objects.filter(pk__in=ids, opted_out=False).update(
        opted_out=True, opted_out_at=at, updated_at=now
    )
    debtor_events_emit(
        type=EventType.DEBTOR_OPTED_OUT,
        debtors=Debtor.objects.filter(pk__in=ids, opted_out_at=at, updated_at=now),
    )
    skipped = _messages_skip_unsent(debtor_ids=ids, reason="The debtor opted out", now=now)
    logger.info(
        "%d debtor(s) opted out (%s), %d unsent message(s) skipped",
        changed,
        OptOutSource(source).label,
        skipped,
    )
    return changed


# What an operator or the API may change on a debtor; the phone is its identity.
DEBTOR_EDITABLE = ("name", "amount", "currency", "due_date", "reference", "status", "extra")


@transaction.atomic
def debtor_update(*, debtor: Debtor, changes: dict[str, Any]) -> Debtor:
    """Change a debtor's fields; marking it paid skips its unsent messages at once."""
    unknown = set(changes) - set(DEBTOR_EDITABLE)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    now = timezone.now()
    locked = Debtor.objects.select_for_update().get(pk=debtor.pk)
    became_paid = changes.get("status") == DebtorStatus.PAID and locked.status != DebtorStatus.PAID
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.updated_at = now
    locked.full_clean(exclude=["phone_e164", "phone_raw"])
    locked.save(update_fields=[*changes, "updated_at"])
    if became_paid:
        _messages_skip_unsent(debtor_ids=[locked.pk], reason="The debtor paid", now=now)
    logger.info("Debtor %s updated: %s", locked.pk, ", ".join(sorted(changes)))
    return locked


@transaction.atomic
def debtor_import_create(
    *, upload: UploadedFile[bytes], region: str, update_existing: bool, by: User | None
) -> DebtorImport:
    """Store an uploaded file and guess its column mapping; nothing is imported yet.

    Raises ImportFileError (and keeps nothing) when the file as a whole is unusable.
    """
    if upload.size is not None:
        check_size(upload.size)  # before the upload is copied into MEDIA_ROOT
    original_name = Path(upload.name or "upload").name[:255]
    debtor_import = DebtorImport(
        original_filename=original_name,
        region=region,
        update_existing=update_existing,
        created_by=by,
    )
    # A generated name: the operator's file name never becomes a path on our disk.
    debtor_import.file.save(f"{uuid.uuid4().hex}.upload", upload, save=False)
    path = Path(debtor_import.file.path)
    try:
        info = inspect_file(path)
        with open_table(path, info) as table:
            if any("\x00" in header for header in table.headers):
                # PostgreSQL text cannot hold NUL; a CSV never has one in its header.
                raise ImportFileError("The file holds NUL bytes: it is not a CSV or XLSX file.")
            mapping = guess_mapping(table.headers)
            rows_total = table.rows_total if table.rows_total is not None else info.rows_total
    except ImportFileError:
        debtor_import.file.delete(save=False)
        raise
    debtor_import.format = info.format
    debtor_import.encoding = info.encoding
    debtor_import.delimiter = info.delimiter
    debtor_import.rows_total = rows_total
    debtor_import.mapping = mapping.as_json()
    debtor_import.save()
    logger.info(
        "Debtor file %s uploaded (%s, %s rows)",
        original_name,
        info.format,
        rows_total,
        extra={"debtor_import": debtor_import.pk},
    )
    return debtor_import


@transaction.atomic
def debtor_import_submit(
    *, debtor_import: DebtorImport, mapping: Mapping, update_existing: bool
) -> bool:
    """Confirm the mapping and queue the import; False if it was already submitted."""
    from debtors.tasks import debtor_import_run_task

    changed = DebtorImport.objects.filter(
        pk=debtor_import.pk, status=ImportStatus.PENDING, submitted_at__isnull=True
    ).update(
        mapping=mapping.as_json(), update_existing=update_existing, submitted_at=timezone.now()
    )
    if changed != 1:
        return False
    transaction.on_commit(partial(debtor_import_run_task.delay, debtor_import.pk))
    debtor_import.refresh_from_db()
    return True


class _ProgressWriter:
    """Saves counters through a second connection, visible while the import's own
    transaction is still open. SQLite allows one writer at a time, so there the counters
    only appear when the import ends."""

    def __init__(self, debtor_import_id: int) -> None:
        self.debtor_import_id = debtor_import_id
        self.side = connection.copy() if connection.vendor == "postgresql" else None

    def __call__(self, counts: ImportCounts) -> None:
        if self.side is None:
            return
        with self.side.cursor() as cursor:
            cursor.execute(
                "UPDATE debtors_debtorimport SET rows_read = %s, imported = %s, updated = %s,"
                " duplicates = %s, invalid = %s WHERE id = %s",
                [
                    counts.rows_read,
                    counts.imported,
                    counts.updated,
                    counts.duplicates,
                    counts.invalid,
                    self.debtor_import_id,
                ],
            )

    def close(self) -> None:
        if self.side is not None:
            self.side.close()


def debtor_import_run(
    *,
    debtor_import_id: int,
    progress_every: int | None = None,
    on_progress: Callable[[ImportCounts], None] | None = None,
) -> DebtorImport | None:
    """Run a submitted import: every row or none are written, in one transaction.

    Safe to run twice: a completed or failed import is left alone, and a `running` one whose
    worker died rolled back, so running it again starts from scratch. Returns None when there
    was nothing to run.
    """
    claimed = DebtorImport.objects.filter(
        pk=debtor_import_id,
        status__in=[ImportStatus.PENDING, ImportStatus.RUNNING],
        submitted_at__isnull=False,
    ).update(status=ImportStatus.RUNNING, started_at=timezone.now())
    if claimed != 1:
        return None
    debtor_import = DebtorImport.objects.get(pk=debtor_import_id)
    progress = _ProgressWriter(debtor_import_id)

    def report_progress(counts: ImportCounts) -> None:
        progress(counts)
        if on_progress is not None:
            on_progress(counts)

    options = {} if progress_every is None else {"progress_every": progress_every}
    try:
        with tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as report_file:
            report = ErrorReport(report_file)
            with transaction.atomic():
                counts = import_file(
                    path=Path(debtor_import.file.path),
                    info=debtor_import_file_info(debtor_import=debtor_import),
                    mapping=Mapping.from_json(debtor_import.mapping),
                    region=debtor_import.region,
                    update_existing=debtor_import.update_existing,
                    report=report,
                    on_progress=report_progress,
                    **options,
                )
                progress.close()
                for name, value in vars(counts).items():
                    setattr(debtor_import, name, value)
                if report.lines:
                    report_file.seek(0)
                    debtor_import.error_report.save(
                        f"{uuid.uuid4().hex}.csv", File(report_file), save=False
                    )
                debtor_import.status = ImportStatus.COMPLETED
                debtor_import.finished_at = timezone.now()
                debtor_import.save()
    except ImportFileError as exc:
        _debtor_import_fail(debtor_import, str(exc))
    except Exception:
        logger.exception("Debtor import %s crashed", debtor_import_id)
        _debtor_import_fail(debtor_import, "The import stopped on an unexpected error.")
    finally:
        progress.close()
    logger.info(
        "Debtor import %s %s: rows_read=%s imported=%s updated=%s duplicates=%s invalid=%s",
        debtor_import.pk,
        debtor_import.status,
        debtor_import.rows_read,
        debtor_import.imported,
        debtor_import.updated,
        debtor_import.duplicates,
        debtor_import.invalid,
    )
    return debtor_import


def _debtor_import_fail(debtor_import: DebtorImport, message: str) -> None:
    # The import's transaction rolled back: nothing was written, so the counters say so.
    DebtorImport.objects.filter(pk=debtor_import.pk).update(
        status=ImportStatus.FAILED,
        error_message=message,
        finished_at=timezone.now(),
        rows_read=0,
        imported=0,
        updated=0,
        duplicates=0,
        invalid=0,
    )
    debtor_import.refresh_from_db()
