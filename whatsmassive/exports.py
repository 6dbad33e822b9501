"""Streaming CSV and XLSX writers shared by every export, with formula-injection escaping.

A cell that starts with `=`, `+`, `-`, `@`, tab or carriage return is a formula to Excel and
LibreOffice; it gets a leading `'` so it is shown as text. An E.164 phone (`+` and digits
only) cannot carry a formula and is written unchanged, as a text cell.
"""

import csv
import datetime
import json
import logging
import re
import tempfile
from collections.abc import Iterable, Iterator
from decimal import Decimal

from django.db.models import QuerySet
from django.http import FileResponse, StreamingHttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from whatsmassive.models import AuditKind, AuditRecord
from whatsmassive.roles import Actor, require
from whatsmassive.services import audit_record_add

ExportCell = str | int | Decimal | datetime.date | datetime.datetime | bool | None

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

logger = logging.getLogger(__name__)


def export_record(*, by: Actor, what: str, filters: dict[str, object], rows: int) -> None:
    """Record an export of debtor data in the audit trail: who, what, which filter, how many.

    Also logged as a warning, so it shows on the logs page even where SYSTEM_LOG_LEVEL keeps
    routine INFO out: personal data left the system.
    """
    audit_record_add(
        kind=AuditKind.EXPORT,
        action=what,
        by=by,
        detail={"filters": filters, "rows": rows},
    )
    username = getattr(by, "username", None) or "system"
    logger.warning(
        "%s exported %d row(s) of %s",
        username,
        rows,
        what,
        extra={
            "export": what,
            "by": username,
            "user_id": getattr(by, "pk", None),
            "filters": filters,
            "rows": rows,
        },
    )


def escape_cell(value: str) -> str:
    if value.startswith(FORMULA_PREFIXES) and not _E164.fullmatch(value):
        return "'" + value
    return value


def _csv_value(value: ExportCell) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).isoformat(sep=" ", timespec="seconds")
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, Decimal)):
        return str(value)
    return escape_cell(value)


class _Echo:
    """A file-like sink for csv.writer that hands each line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(header: list[str], rows: Iterable[Iterable[ExportCell]]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield "\ufeff" + writer.writerow([escape_cell(title) for title in header])
    for row in rows:
        yield writer.writerow([_csv_value(value) for value in row])


def csv_response(
    *, filename: str, header: list[str], rows: Iterable[Iterable[ExportCell]]
) -> StreamingHttpResponse:
    # The BOM makes Excel read the file as UTF-8 (names with accents).
    response = StreamingHttpResponse(csv_lines(header, rows), content_type="text/csv")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def write_xlsx(target: object, *, header: list[str], rows: Iterable[Iterable[ExportCell]]) -> None:
    """Write one sheet in openpyxl's write-only mode: rows go to disk, not to memory."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Export")
    sheet.append([escape_cell(title) for title in header])
    for row in rows:
        sheet.append([_xlsx_cell(sheet, value) for value in row])
    workbook.save(target)


def _xlsx_cell(sheet: object, value: ExportCell) -> object:
    if isinstance(value, datetime.datetime):
        # XLSX has no time zones: write the wall-clock time the operator sees on the pages.
        return timezone.localtime(value).replace(tzinfo=None)
    if isinstance(value, str):
        # Always a string cell: openpyxl would otherwise turn "=..." into a formula.
        cell = WriteOnlyCell(sheet, value=escape_cell(value))
        cell.data_type = "s"
        return cell
    return value


def xlsx_response(
    *, filename: str, header: list[str], rows: Iterable[Iterable[ExportCell]]
) -> FileResponse:
    # openpyxl needs a seekable file to build the zip; a spooled temporary file keeps small
    # exports in memory and large ones on disk, and FileResponse streams it in chunks.
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
    write_xlsx(spool, header=header, rows=rows)
    spool.seek(0)
    return FileResponse(
        spool, as_attachment=True, filename=filename, content_type=XLSX_CONTENT_TYPE
    )


AUDIT_EXPORT_HEADER = [
    "id",
    "at",
    "kind",
    "action",
    "by",
    "debtor_phone",
    "campaign_id",
    "account_id",
    "message_id",
    "whatsapp_id",
    "text",
    "detail",
]


def _audit_rows(records: QuerySet[AuditRecord]) -> Iterator[list[ExportCell]]:
    columns = [
        "id",
        "at",
        "kind",
        "action",
        "by_name",
        "phone_e164",
        "campaign_id",
        "session_id",
        "message_id",
        "wa_message_id",
        "text",
    ]
    for *values, detail in (
        records.order_by("-id").values_list(*columns, "detail").iterator(chunk_size=2000)
    ):
        yield [*values, json.dumps(detail, ensure_ascii=False, sort_keys=True)]


def audit_export_response(
    *, records: QuerySet[AuditRecord], filename: str, filters: dict[str, object], by: Actor
) -> StreamingHttpResponse:
    """Stream the audit records as CSV; the export is itself an audit record."""
    require(by, "whatsmassive.export_audit")
    export_record(by=by, what="audit trail", filters=filters, rows=records.count())
    return csv_response(filename=filename, header=AUDIT_EXPORT_HEADER, rows=_audit_rows(records))
