"""Opening an uploaded CSV, XLSX, ODS or XLS safely and streaming its rows.

Every check that can reject a whole file runs before any row is read, so a hostile file
(zip bomb, XML entities, oversize) is turned away without being parsed.
"""

import _csv
import codecs
import csv
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.formats import number_format
from django.utils.translation import gettext
from python_calamine import CalamineError, CalamineWorkbook

from debtors.imports.containers import MACRO_ADVICE, ContainerError, inspect_zip
from debtors.imports.values import Cell, cell_text
from debtors.models import ImportFormat

CHUNK_BYTES = 1024 * 1024
DELIMITERS = (",", ";", "\t")
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"
# Byte-order marks, longest first: UTF-32 LE starts with the UTF-16 LE mark.
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Names a macro-enabled or binary workbook goes by; refused whatever the content says.
REFUSED_SUFFIXES = {".xlsm", ".xltm", ".xlam", ".xlsb"}


class ImportFileError(Exception):
    """The whole file is rejected; the message tells the operator what to fix."""


@dataclass(frozen=True)
class FileInfo:
    format: str
    encoding: str = ""
    delimiter: str = ""
    rows_total: int | None = None  # data rows, counted without parsing the file


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[Cell]]]  # (row number as the operator sees it, cells)
    rows_total: int | None = None  # known up front for spreadsheets only


def check_size(size: int) -> None:
    if size == 0:
        raise ImportFileError(gettext("The file is empty."))
    if size > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(
            gettext("The file is %(size)s; the limit is %(limit)s.")
            % {"size": filesizeformat(size), "limit": filesizeformat(settings.IMPORT_MAX_BYTES)}
        )


def check_filename(name: str) -> None:
    if Path(name).suffix.lower() in REFUSED_SUFFIXES:
        raise ImportFileError(
            gettext("%(suffix)s workbooks can hold macros: %(advice)s.")
            % {"suffix": Path(name).suffix, "advice": gettext(MACRO_ADVICE)}
        )


def check_rows(rows: int | None) -> None:
    if rows is not None and rows > settings.IMPORT_MAX_ROWS:
        raise ImportFileError(
            gettext(
                "The file has %(rows)s rows; the limit is %(limit)s: split it and import each part."
            )
            % {
                "rows": number_format(rows, force_grouping=True),
                "limit": number_format(settings.IMPORT_MAX_ROWS, force_grouping=True),
            }
        )


def inspect_file(path: Path) -> FileInfo:
    """Format, encoding, delimiter and the row count, all without parsing a row.

    Memory stays bounded whatever the file: CSV is read in chunks, spreadsheets are checked
    through their zip directory and counted by streaming the sheet XML. Raises
    ImportFileError when the file is unusable, over IMPORT_MAX_ROWS included.
    """
    check_size(path.stat().st_size)
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == _OLE_MAGIC:
        # Size-capped; its row count is bounded by the format and taken in the worker.
        return FileInfo(format=ImportFormat.XLS)
    if magic == _ZIP_MAGIC:
        try:
            file_format, rows = inspect_zip(str(path))
        except ContainerError as exc:
            raise ImportFileError(str(exc)) from exc
        check_rows(rows)
        if rows == 0:
            raise ImportFileError(gettext("The spreadsheet's first sheet has no data rows."))
        return FileInfo(format=file_format, rows_total=rows)
    encoding, rows = _detect_encoding(path)
    check_rows(rows)
    info = FileInfo(
        format=ImportFormat.CSV,
        encoding=encoding,
        delimiter=_sniff_delimiter(path, encoding),
        rows_total=rows,
    )
    if rows <= 1:
        # At most two lines (blank ones count): reading them is cheap and says what is missing.
        with open_table(path, info) as table:
            if next(table.rows, None) is None:
                raise ImportFileError(gettext("The file has a header row but no data rows."))
    return info


@contextmanager
def open_table(path: Path, info: FileInfo) -> Iterator[Table]:
    """The header row and an iterator over the data rows; blank rows are skipped."""
    if info.format != ImportFormat.CSV:
        yield _open_spreadsheet(path)
        return
    with path.open(encoding=info.encoding, newline="") as handle:
        yield _open_csv(handle, info.delimiter)


def _detect_encoding(path: Path) -> tuple[str, int]:
    """The encoding and the data rows (lines outside quotes, less the header).

    A byte-order mark decides (UTF-8, UTF-16 or UTF-32, as Excel's "Unicode text" writes);
    without one, UTF-8 when every byte decodes as UTF-8, else Windows-1252.
    """
    with path.open("rb") as handle:
        start = handle.read(4)
    marked = next((encoding for bom, encoding in _BOMS if start.startswith(bom)), None)
    if marked is not None:
        candidates = [marked]
    elif len(start) == 4 and start[1] == start[3] == 0 and start[0] and start[2]:
        candidates = ["utf-16-le"]  # UTF-16 without its mark: every other byte is zero
    elif len(start) == 4 and start[0] == start[2] == 0 and start[1] and start[3]:
        candidates = ["utf-16-be"]
    else:
        candidates = ["utf-8", "cp1252"]
    for encoding in candidates:
        try:
            return encoding, _count_csv_rows(path, encoding)
        except UnicodeDecodeError:
            continue
    if marked is not None:
        raise ImportFileError(
            gettext("The file starts like %(encoding)s text but is not valid %(encoding)s.")
            % {"encoding": marked.upper()}
        )
    raise ImportFileError(
        gettext("The file is neither UTF-8 nor Windows-1252 text: is it really a CSV?")
    )


def _count_csv_rows(path: Path, encoding: str) -> int:
    """Newlines outside quotes, in one streaming pass that keeps nothing but a flag."""
    decoder = codecs.getincrementaldecoder(encoding)()
    lines = 0
    quoted = False
    last = ""
    with path.open("rb") as handle:
        while True:
            chunk = handle.read(CHUNK_BYTES)
            text = decoder.decode(chunk, final=not chunk)
            if '"' in text:
                for part in text.split('"'):
                    if not quoted:
                        lines += part.count("\n")
                    quoted = not quoted
                quoted = not quoted  # n quotes split the text into n + 1 parts
            elif not quoted:
                lines += text.count("\n")
            last = text[-1:] or last
            if not chunk:
                break
    if last and last != "\n":
        lines += 1  # the last line has no newline of its own
    return max(lines - 1, 0)


def _sniff_delimiter(path: Path, encoding: str) -> str:
    """The delimiter that occurs most often in the header line, outside quotes."""
    with path.open(encoding=encoding, newline="") as handle:
        sample = handle.read(64 * 1024)
    header = ""
    quoted = False
    for char in sample:
        if char == '"':
            quoted = not quoted
        elif char in "\r\n" and not quoted:
            if header.strip():
                break
            header = ""
            continue
        header += "" if quoted else char
    counts = {delimiter: header.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _open_csv(handle: Iterator[str], delimiter: str) -> Table:
    reader = csv.reader(handle, delimiter=delimiter)
    headers: list[str] | None = None
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                headers = [cell.strip() for cell in record]
                break
    except csv.Error as exc:
        raise ImportFileError(
            gettext("The CSV cannot be read at line %(line)s: %(error)s.")
            % {"line": reader.line_num, "error": exc}
        ) from exc
    if headers is None:
        raise ImportFileError(gettext("The file has no header row and no data."))
    return Table(headers=headers, rows=_csv_rows(reader))


def _csv_rows(reader: _csv.Reader) -> Iterator[tuple[int, list[Cell]]]:
    line = reader.line_num
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            raise ImportFileError(
                gettext(
                    "The CSV cannot be read after line %(line)s: %(error)s. "
                    "Check for an unclosed quote or a cell longer than 128 KB."
                )
                % {"line": line, "error": exc}
            ) from exc
        start, line = line + 1, reader.line_num
        if any(cell.strip() for cell in record):
            yield start, list(record)


def _open_spreadsheet(path: Path) -> Table:
    try:
        sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    except (CalamineError, ValueError, IndexError) as exc:
        raise ImportFileError(
            gettext("The spreadsheet cannot be read: %(error)s.") % {"error": exc}
        ) from exc
    first_row = int(sheet.start[0]) if sheet.start else 0
    rows: Iterator[list[Cell]] = iter(sheet.iter_rows())  # type: ignore[arg-type]
    number = first_row
    for record in rows:
        number += 1
        if any(cell_text(cell) for cell in record):
            headers = [cell_text(cell) for cell in record]
            return Table(
                headers=headers,
                rows=_spreadsheet_rows(rows, number),
                rows_total=max(int(sheet.height) - number + first_row, 0),
            )
    raise ImportFileError(gettext("The file has no header row and no data."))


def _spreadsheet_rows(
    rows: Iterator[list[Cell]], header_number: int
) -> Iterator[tuple[int, list[Cell]]]:
    for number, record in enumerate(rows, start=header_number + 1):
        if any(cell != "" and cell is not None for cell in record):
            yield number, [None if cell == "" else cell for cell in record]
