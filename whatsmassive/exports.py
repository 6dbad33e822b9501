"""Streaming CSV and XLSX writers shared by every export, with formula-injection escaping.

A cell that starts with `=`, `+`, `-`, `@`, tab or carriage return is a formula to Excel and
LibreOffice; it gets a leading `'` so it is shown as text. An E.164 phone (`+` and digits
only) cannot carry a formula and is written unchanged, as a text cell.

Headers and labels are written in the language active when the export is asked for; the CSV
layout (`CsvFormat`) follows the operator's locale unless they chose another.
"""

import csv
import datetime
import json
import logging
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal

from babel.core import UnknownLocaleError
from babel.numbers import get_decimal_symbol
from django.db.models import QuerySet
from django.http import FileResponse, HttpRequest, StreamingHttpResponse
from django.utils import timezone, translation
from django.utils.functional import Promise
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _
from django.utils.translation.trans_real import parse_accept_lang_header
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from whatsmassive.models import AuditKind, AuditRecord
from whatsmassive.roles import Actor, require
from whatsmassive.services import audit_record_add

ExportCell = str | int | Decimal | datetime.date | datetime.datetime | bool | None
Header = Sequence[str | Promise]

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_E164 = re.compile(r"\+[1-9]\d{6,14}")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CsvFormat:
    """How a CSV is laid out. Where decimals are written with a comma, Excel splits CSV on
    `;` and reads UTF-8 only after a byte-order mark."""

    delimiter: str
    decimal: str
    bom: bool


CSV_FORMATS = {
    "comma": CsvFormat(delimiter=",", decimal=".", bom=False),
    "semicolon": CsvFormat(delimiter=";", decimal=",", bom=True),
}
CSV_FORMAT_CHOICES = [
    ("comma", pgettext_lazy("CSV layout", "Comma (1234.56)")),
    ("semicolon", pgettext_lazy("CSV layout", "Semicolon (1234,56)")),
]
CSV_COMMA = CSV_FORMATS["comma"]
# The query parameter that picks a layout, and where the choice is kept between exports.
CSV_FORMAT_PARAMETER = "csv"
CSV_FORMAT_SESSION_KEY = "export_csv_format"


def csv_format_for_locale(locale: str) -> str:
    """The layout a spreadsheet of `locale` (`es_CO`, `es`, `en-us`) expects, by its decimal
    mark in CLDR."""
    try:
        symbol = get_decimal_symbol(translation.to_locale(locale))
    except (UnknownLocaleError, ValueError):
        symbol = "."
    return "semicolon" if symbol == "," else "comma"


def request_locale(request: HttpRequest) -> str:
    """The active language, with the region of the browser's first matching language when it
    has one (`es-MX` writes decimals with a point, `es-CO` with a comma)."""
    language = translation.get_language() or "en"
    base = language.split("-")[0]
    for code, _quality in parse_accept_lang_header(request.headers.get("Accept-Language", "")):
        if code.split("-")[0] == base:
            return code
    return language


def csv_format_choice(request: HttpRequest) -> str:
    """The layout the user last picked (kept in the session), else their locale's."""
    remembered = request.session.get(CSV_FORMAT_SESSION_KEY)
    if remembered in CSV_FORMATS:
        return str(remembered)
    return csv_format_for_locale(request_locale(request))


def csv_format_for_request(request: HttpRequest) -> CsvFormat:
    """The layout an export request asks for (`?csv=`), remembered for the next export;
    without one, `csv_format_choice`."""
    chosen = request.GET.get(CSV_FORMAT_PARAMETER)
    if chosen in CSV_FORMATS:
        request.session[CSV_FORMAT_SESSION_KEY] = chosen
        return CSV_FORMATS[str(chosen)]
    return CSV_FORMATS[csv_format_choice(request)]


def labels(choices: Iterable[tuple[str, str | Promise]]) -> dict[str, str]:
    """A choices' labels in the active language, taken now: rows stream after the view."""
    return {value: str(label) for value, label in choices}


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


class _Values:
    """Cells as CSV text: decimals with the layout's mark, yes/no in the active language."""

    def __init__(self, csv_format: CsvFormat) -> None:
        self.decimal = csv_format.decimal
        self.yes = gettext("yes")
        self.no = gettext("no")

    def text(self, value: ExportCell) -> str:
        if value is None:
            return ""
        if isinstance(value, datetime.datetime):
            return timezone.localtime(value).isoformat(sep=" ", timespec="seconds")
        if isinstance(value, datetime.date):
            return value.isoformat()
        if isinstance(value, bool):
            return self.yes if value else self.no
        if isinstance(value, Decimal):
            return str(value).replace(".", self.decimal)
        if isinstance(value, int):
            return str(value)
        return escape_cell(value)


class _Echo:
    """A file-like sink for csv.writer that hands each line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def csv_lines(
    header: Header, rows: Iterable[Iterable[ExportCell]], csv_format: CsvFormat = CSV_COMMA
) -> Iterator[str]:
    """The header (in the active language) and the rows as CSV lines in `csv_format`."""
    values = _Values(csv_format)
    writer = csv.writer(_Echo(), delimiter=csv_format.delimiter)
    first = writer.writerow([escape_cell(str(title)) for title in header])
    return _lines("\ufeff" + first if csv_format.bom else first, writer.writerow, values, rows)


def _lines(
    first: str,
    write: Callable[[list[str]], str],
    values: _Values,
    rows: Iterable[Iterable[ExportCell]],
) -> Iterator[str]:
    yield first
    for row in rows:
        yield write([values.text(value) for value in row])


def csv_response(
    *,
    filename: str,
    header: Header,
    rows: Iterable[Iterable[ExportCell]],
    csv_format: CsvFormat = CSV_COMMA,
) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        csv_lines(header, rows, csv_format), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def write_xlsx(target: object, *, header: Header, rows: Iterable[Iterable[ExportCell]]) -> None:
    """Write one sheet in openpyxl's write-only mode: rows go to disk, not to memory."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(gettext("Export"))
    sheet.append([escape_cell(str(title)) for title in header])
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
    *, filename: str, header: Header, rows: Iterable[Iterable[ExportCell]]
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
    _("id"),
    pgettext_lazy("when", "at"),
    _("kind"),
    _("action"),
    _("by"),
    _("debtor_phone"),
    _("campaign_id"),
    _("account_id"),
    _("message_id"),
    _("whatsapp_id"),
    _("text"),
    _("detail"),
]


def _audit_rows(
    records: QuerySet[AuditRecord], kinds: dict[str, str]
) -> Iterator[list[ExportCell]]:
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
    for pk, at, kind, *values, detail in (
        records.order_by("-id").values_list(*columns, "detail").iterator(chunk_size=2000)
    ):
        yield [
            pk,
            at,
            kinds.get(kind, kind),
            *values,
            json.dumps(detail, ensure_ascii=False, sort_keys=True),
        ]


def audit_export_response(
    *,
    records: QuerySet[AuditRecord],
    filename: str,
    filters: dict[str, object],
    by: Actor,
    csv_format: CsvFormat = CSV_COMMA,
) -> StreamingHttpResponse:
    """Stream the audit records as CSV; the export is itself an audit record."""
    require(by, "whatsmassive.export_audit")
    export_record(by=by, what="audit trail", filters=filters, rows=records.count())
    return csv_response(
        filename=filename,
        header=AUDIT_EXPORT_HEADER,
        rows=_audit_rows(records, labels(AuditKind.choices)),
        csv_format=csv_format,
    )
