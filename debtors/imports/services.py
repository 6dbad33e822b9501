"""Debtor imports: upload, preparation in the worker, the confirmed run, clean-up."""

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
from django.db import transaction
from django.db.models import QuerySet
from django.db.models.fields.files import FieldFile
from django.utils import timezone, translation

from debtors.imports.engine import ErrorReport, ImportCounts, import_file
from debtors.imports.mapping import Mapping
from debtors.imports.preview import build_preview
from debtors.imports.progress import progress_clear, progress_publish
from debtors.imports.readers import ImportFileError, check_filename, check_size, inspect_file
from debtors.models import DebtorImport, ImportStatus
from debtors.selectors import debtor_import_file_info
from debtors.tasks import debtor_import_prepare_task, debtor_import_run_task
from whatsmassive.roles import Actor, require

logger = logging.getLogger(__name__)


def debtor_import_create(
    *, upload: UploadedFile[bytes], region: str, update_existing: bool, by: Actor
) -> DebtorImport:
    """Store an uploaded file, check it and count its rows; the worker prepares the preview.

    Nothing here parses a row: the checks stream the file with bounded memory. Raises
    ImportFileError (and keeps nothing, the stored file included) when the file as a whole is
    unusable, over IMPORT_MAX_ROWS included.
    """
    require(by, "debtors.add_debtorimport")
    original_name = Path(upload.name or "upload").name[:255]
    check_filename(original_name)
    if upload.size is not None:
        check_size(upload.size)  # before the upload is copied into MEDIA_ROOT
    debtor_import = DebtorImport(
        original_filename=original_name,
        region=region,
        update_existing=update_existing,
        created_by=by if isinstance(by, User) else None,
    )
    # A generated name: the operator's file name never becomes a path on our disk.
    debtor_import.file.save(f"{uuid.uuid4().hex}.upload", upload, save=False)
    try:
        with transaction.atomic():
            info = inspect_file(Path(debtor_import.file.path))
            debtor_import.format = info.format
            debtor_import.encoding = info.encoding
            debtor_import.delimiter = info.delimiter
            debtor_import.rows_total = info.rows_total
            debtor_import.save()
            transaction.on_commit(
                partial(debtor_import_prepare_task.delay, debtor_import.pk), robust=True
            )
    except BaseException:
        # Whatever stopped it (a refused file, a decoding surprise, the database), the
        # upload must not stay on disk without a row that owns it.
        debtor_import.file.delete(save=False)
        raise
    logger.info(
        "Debtor file %s uploaded (%s, %s rows)",
        original_name,
        info.format,
        info.rows_total,
        extra={"debtor_import": debtor_import.pk},
    )
    return debtor_import


def debtor_import_prepare(*, debtor_import_id: int) -> DebtorImport | None:
    """Read the headers and first rows once (in the worker) and guess the mapping.

    Returns None when there was nothing to prepare (already prepared, or gone). A file that
    turns out unusable fails the import and its stored file is deleted.
    """
    debtor_import = DebtorImport.objects.filter(
        pk=debtor_import_id, status=ImportStatus.PENDING, preview__isnull=True
    ).first()
    if debtor_import is None:
        return None
    info = debtor_import_file_info(debtor_import=debtor_import)
    try:
        preview = build_preview(path=Path(debtor_import.file.path), info=info)
    except ImportFileError as exc:
        _debtor_import_fail(debtor_import, str(exc))
        return debtor_import
    except Exception:
        logger.exception("Debtor import %s could not be prepared", debtor_import_id)
        _debtor_import_fail(debtor_import, "The file could not be read.")
        return debtor_import
    mapping = preview.pop("mapping")
    DebtorImport.objects.filter(pk=debtor_import_id, preview__isnull=True).update(
        preview=preview, mapping=mapping, rows_total=preview["rows_total"]
    )
    debtor_import.refresh_from_db()
    return debtor_import


@transaction.atomic
def debtor_import_submit(
    *,
    debtor_import: DebtorImport,
    mapping: Mapping,
    update_existing: bool,
    by: Actor = None,
    language: str = "en",
) -> bool:
    """Confirm the mapping and queue the import; False if it was already submitted.

    `language` is the one the worker writes the error report in (the operator's).
    """
    require(by, "debtors.add_debtorimport")
    changed = DebtorImport.objects.filter(
        pk=debtor_import.pk,
        status=ImportStatus.PENDING,
        submitted_at__isnull=True,
        preview__isnull=False,
    ).update(
        mapping=mapping.as_json(), update_existing=update_existing, submitted_at=timezone.now()
    )
    if changed != 1:
        return False
    transaction.on_commit(partial(debtor_import_run_task.delay, debtor_import.pk, language))
    debtor_import.refresh_from_db()
    return True


def debtor_import_run(
    *,
    debtor_import_id: int,
    progress_every: int | None = None,
    on_progress: Callable[[ImportCounts], None] | None = None,
    language: str = "en",
) -> DebtorImport | None:
    """Run a submitted import: every row or none are written, in one transaction.

    Safe to run twice: a completed or failed import is left alone, and a `running` one whose
    worker died rolled back, so running it again starts from scratch. Returns None when there
    was nothing to run. A failed import keeps no stored file. The error report and a failure's
    message are written in `language`.
    """
    claimed = DebtorImport.objects.filter(
        pk=debtor_import_id,
        status__in=[ImportStatus.PENDING, ImportStatus.RUNNING],
        submitted_at__isnull=False,
    ).update(status=ImportStatus.RUNNING, started_at=timezone.now())
    if claimed != 1:
        return None
    debtor_import = DebtorImport.objects.get(pk=debtor_import_id)

    def report_progress(counts: ImportCounts) -> None:
        progress_publish(debtor_import_id=debtor_import_id, counts=counts)
        if on_progress is not None:
            on_progress(counts)

    options: dict[str, Any] = {} if progress_every is None else {"progress_every": progress_every}
    try:
        with (
            translation.override(language),
            tempfile.TemporaryFile("w+", encoding="utf-8", newline="") as report_file,
        ):
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
        progress_clear(debtor_import_id=debtor_import_id)
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
    # The import's transaction rolled back: nothing was written, so the counters say so,
    # and the upload (personal data nobody will import now) goes.
    DebtorImport.objects.filter(pk=debtor_import.pk).update(
        status=ImportStatus.FAILED,
        error_message=message,
        finished_at=timezone.now(),
        rows_read=0,
        imported=0,
        updated=0,
        duplicates=0,
        invalid=0,
        file="",
        error_report="",
    )
    _delete_files([debtor_import.file, debtor_import.error_report])
    debtor_import.refresh_from_db()


def _delete_files(files: list[FieldFile]) -> None:
    for field_file in files:
        if field_file.name:
            field_file.storage.delete(field_file.name)


@transaction.atomic
def debtor_import_delete(*, debtor_imports: QuerySet[DebtorImport]) -> int:
    """Delete imports with their stored upload and error report (once the delete commits).

    Admin deletions and the stale-import sweep come through here: a post_delete signal
    would hide the file deletion from whoever reads the code that deletes.
    """
    doomed = list(debtor_imports.select_for_update())
    files = [f for item in doomed for f in (item.file, item.error_report) if f]
    DebtorImport.objects.filter(pk__in=[item.pk for item in doomed]).delete()
    transaction.on_commit(partial(_delete_files, files))
    return len(doomed)


def debtor_import_delete_stale(*, older_than: datetime.timedelta) -> int:
    """Imports left at the mapping step (never submitted) longer than `older_than`."""
    stale = DebtorImport.objects.filter(
        status=ImportStatus.PENDING,
        submitted_at__isnull=True,
        created_at__lt=timezone.now() - older_than,
    )
    deleted = debtor_import_delete(debtor_imports=stale)
    if deleted:
        logger.info("%d import(s) left at the mapping step were deleted", deleted)
    return deleted
