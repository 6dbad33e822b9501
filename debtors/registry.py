"""The do-not-contact registry's writes: add by hand, remove (consent given again), import.

Every path onto the registry goes through `debtor_opt_out`, which also opts out the debtors
holding those phones; a removal is a Supervisor's, with a reason, in the audit trail.
"""

import io
import logging
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone, translation

from debtors.imports.engine import CleanRow, ErrorReport, ImportCounts, import_file
from debtors.imports.mapping import EXTRA, IGNORE, Mapping, guess_mapping
from debtors.imports.readers import check_filename, check_size, inspect_file, open_table
from debtors.models import Debtor, DoNotContact, OptOutSource
from debtors.services import debtor_opt_out
from whatsmassive.models import AuditKind
from whatsmassive.roles import Actor, require
from whatsmassive.services import audit_record_add

logger = logging.getLogger(__name__)

# Columns of an imported list that hold the reason, by their header key.
REASON_KEYS = ("reason", "motivo", "razon", "causa")


@transaction.atomic
def do_not_contact_add(*, phone_e164: str, reason: str, by: Actor) -> bool:
    """Put one phone on the registry by hand; False when it was already there."""
    require(by, "debtors.opt_out_debtor")
    known = DoNotContact.objects.filter(phone_e164=phone_e164).exists()
    debtor_opt_out(
        phones={phone_e164: reason},
        at=timezone.now(),
        source=OptOutSource.OPERATOR,
        reason=reason,
        by=by,
    )
    return not known


class ReasonRequired(ValueError):
    """Consent given again is recorded with why: a blank reason is refused."""


@transaction.atomic
def do_not_contact_remove(*, entry: DoNotContact, reason: str, by: Actor) -> bool:
    """Take a phone off the registry (the debtor consented again); False if it was not on it.

    The debtors holding the phone are no longer opted out: later campaigns may write to
    them. Messages already skipped stay skipped.
    """
    require(by, "debtors.restore_contact")
    reason = reason.strip()
    if not reason:
        raise ReasonRequired("Say why the phone may be contacted again (e.g. written consent).")
    removed, _ = DoNotContact.objects.filter(pk=entry.pk).delete()
    if not removed:
        return False
    now = timezone.now()
    debtors = list(
        Debtor.objects.filter(phone_e164=entry.phone_e164, opted_out=True).values_list(
            "pk", flat=True
        )
    )
    Debtor.objects.filter(pk__in=debtors).update(opted_out=False, opted_out_at=None, updated_at=now)
    # The audit trail is kept in English, whatever the operator reads.
    with translation.override("en"):
        source_label = str(entry.get_source_display())
    audit_record_add(
        kind=AuditKind.CONSENT,
        action="removed from registry",
        by=by,
        at=now,
        phone_e164=entry.phone_e164,
        detail={
            "reason": reason,
            "was_since": entry.added_at.isoformat(),
            "was_source": source_label,
            "was_reason": entry.reason,
            "debtor_ids": debtors,
        },
    )
    logger.info("%s removed from the do-not-contact registry: %s", entry.phone_e164, reason)
    return True


class _RegistryWriter:
    """Clean rows of an imported list go onto the registry through `debtor_opt_out`."""

    def __init__(self, *, by: Actor) -> None:
        self.by = by
        self.at = timezone.now()

    def write(self, batch: list[CleanRow]) -> tuple[set[str], set[str]]:
        phones = {row.phone_e164: _reason(row) for row in batch}
        known = set(
            DoNotContact.objects.filter(phone_e164__in=list(phones)).values_list(
                "phone_e164", flat=True
            )
        )
        debtor_opt_out(phones=phones, at=self.at, source=OptOutSource.IMPORT, by=self.by)
        return set(phones) - known, set()

    def refusal(self, row: CleanRow) -> str:
        return f"{row.phone_e164} is already on the do-not-contact registry"


def _reason(row: CleanRow) -> str:
    return next((row.extra[key] for key in REASON_KEYS if row.extra.get(key)), "")[:500]


@dataclass(frozen=True)
class RegistryImport:
    counts: ImportCounts
    error_report: str  # CSV: the rows not taken, with reasons (header only when none)


def do_not_contact_import(*, upload: UploadedFile[bytes], region: str, by: Actor) -> RegistryImport:
    """Put every phone of a CSV/XLSX/ODS/XLS list on the registry: all rows or none.

    The file goes through the debtor import's engine (readers, E.164, dedupe, error
    report): the phone column is found by its header as for debtors; a `reason` (`motivo`)
    column is each phone's reason. Raises ImportFileError when the file as a whole is
    unusable.
    """
    require(by, "debtors.opt_out_debtor")
    check_filename(upload.name or "")
    if upload.size is not None:
        check_size(upload.size)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / f"{uuid.uuid4().hex}.upload"
        with path.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        info = inspect_file(path)
        with open_table(path, info) as table:
            guessed = guess_mapping(table.headers)
        # Only the phone is read as a field; every other column is kept as text (the reason).
        mapping = Mapping(
            headers=guessed.headers,
            targets=[
                target if target in {"phone", IGNORE} else EXTRA for target in guessed.targets
            ],
        )
        report_file = io.StringIO()
        report = ErrorReport(report_file)
        with transaction.atomic():
            counts = import_file(
                path=path,
                info=info,
                mapping=mapping,
                region=region,
                update_existing=False,
                report=report,
                writer=_RegistryWriter(by=by),
            )
    logger.info("Do-not-contact list %s imported: %s", upload.name, counts.summary())
    return RegistryImport(counts=counts, error_report=report_file.getvalue())
