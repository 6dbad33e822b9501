"""Opening an uploaded CSV or XLSX safely and streaming its rows.

Every check that can reject a whole file runs before any row is read, so a hostile file
(zip bomb, XML entities, oversize) is turned away without being parsed.
"""

import _csv
import codecs
import csv
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from python_calamine import CalamineError, CalamineWorkbook

from debtors.imports.values import Cell, cell_text
from debtors.models import ImportFormat

CHUNK_BYTES = 1024 * 1024
DELIMITERS = (",", ";", "\t")
# Bytes of each XML part inspected for a DTD: a DOCTYPE sits in the prologue, before any element.
XML_PROLOGUE_BYTES = 4096
_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0"


class ImportFileError(Exception):
    """The whole file is rejected; the message tells the operator what to fix."""


@dataclass(frozen=True)
class FileInfo:
    format: str
    encoding: str = ""
    delimiter: str = ""
    rows_total: int | None = None


@dataclass
class Table:
    headers: list[str]
    rows: Iterator[tuple[int, list[Cell]]]  # (row number as the operator sees it, cells)
    rows_total: int | None = None  # known up front for XLSX only


def check_size(size: int) -> None:
    if size == 0:
        raise ImportFileError("The file is empty.")
    if size > settings.IMPORT_MAX_BYTES:
        raise ImportFileError(
            f"The file is {filesizeformat(size)}; the limit is "
            f"{filesizeformat(settings.IMPORT_MAX_BYTES)}."
        )


def inspect_file(path: Path) -> FileInfo:
    """Format, encoding, delimiter and a row estimate; raises ImportFileError if unusable."""
    check_size(path.stat().st_size)
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic == _OLE_MAGIC:
        raise ImportFileError("Old Excel .xls files are not supported: save it as .xlsx or CSV.")
    if magic == _ZIP_MAGIC:
        _check_xlsx_container(path)
        return FileInfo(format=ImportFormat.XLSX)
    encoding, newlines = _detect_encoding(path)
    return FileInfo(
        format=ImportFormat.CSV,
        encoding=encoding,
        delimiter=_sniff_delimiter(path, encoding),
        rows_total=max(newlines, 1),
    )


@contextmanager
def open_table(path: Path, info: FileInfo) -> Iterator[Table]:
    """The header row and an iterator over the data rows; blank rows are skipped."""
    if info.format == ImportFormat.XLSX:
        yield _open_xlsx(path)
        return
    with path.open(encoding=info.encoding, newline="") as handle:
        yield _open_csv(handle, info.delimiter)


def _detect_encoding(path: Path) -> tuple[str, int]:
    """UTF-8 (with or without BOM) when every byte decodes as UTF-8, else Windows-1252."""
    with path.open("rb") as handle:
        has_bom = handle.read(3) == codecs.BOM_UTF8
    for encoding in ("utf-8-sig" if has_bom else "utf-8", "cp1252"):
        decoder = codecs.getincrementaldecoder(encoding)()
        newlines = 0
        try:
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK_BYTES):
                    decoder.decode(chunk)
                    newlines += chunk.count(b"\n")
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding, newlines
    raise ImportFileError("The file is neither UTF-8 nor Windows-1252 text: is it really a CSV?")


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
        raise ImportFileError(f"The CSV cannot be read at line {reader.line_num}: {exc}.") from exc
    if headers is None:
        raise ImportFileError("The file has no header row and no data.")
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
                f"The CSV cannot be read after line {line}: {exc}. "
                "Check for an unclosed quote or a cell longer than 128 KB."
            ) from exc
        start, line = line + 1, reader.line_num
        if any(cell.strip() for cell in record):
            yield start, list(record)


def _check_xlsx_container(path: Path) -> None:
    """Reject zip bombs and XML with DTDs before any XLSX parser sees the file."""
    try:
        with zipfile.ZipFile(path) as archive:
            entries = archive.infolist()
            if len(entries) > settings.IMPORT_XLSX_MAX_ENTRIES:
                raise ImportFileError(
                    f"The XLSX holds {len(entries)} parts; the limit is "
                    f"{settings.IMPORT_XLSX_MAX_ENTRIES}."
                )
            total = sum(entry.file_size for entry in entries)
            if total > settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES:
                raise ImportFileError(
                    f"The XLSX unpacks to {filesizeformat(total)}; the limit is "
                    f"{filesizeformat(settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES)}."
                )
            for entry in entries:
                ratio = entry.file_size / max(entry.compress_size, 1)
                if ratio > settings.IMPORT_XLSX_MAX_RATIO:
                    raise ImportFileError(
                        f"The XLSX part {entry.filename} is compressed {ratio:.0f}:1, "
                        "which only a zip bomb does; the file was not opened."
                    )
            if "xl/workbook.xml" not in archive.namelist():
                raise ImportFileError("The file is a zip archive but not an XLSX workbook.")
            for entry in entries:
                if entry.filename.endswith((".xml", ".rels")):
                    with archive.open(entry) as part:
                        prologue = part.read(XML_PROLOGUE_BYTES)
                    if b"<!DOCTYPE" in prologue or b"<!ENTITY" in prologue:
                        raise ImportFileError(
                            f"The XLSX part {entry.filename} declares XML entities; "
                            "the file was not opened."
                        )
    except zipfile.BadZipFile as exc:
        raise ImportFileError("The file looks like an XLSX but is not a valid zip.") from exc


def _first_sheet(path: Path) -> object:
    try:
        return CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    except (CalamineError, ValueError, IndexError) as exc:
        raise ImportFileError(f"The XLSX cannot be read: {exc}.") from exc


def _open_xlsx(path: Path) -> Table:
    sheet = _first_sheet(path)
    first_row = int(sheet.start[0]) if sheet.start else 0  # type: ignore[attr-defined]
    rows: Iterator[list[Cell]] = iter(sheet.iter_rows())  # type: ignore[attr-defined]
    number = first_row
    for record in rows:
        number += 1
        if any(cell_text(cell) for cell in record):
            headers = [cell_text(cell) for cell in record]
            height = int(sheet.height)  # type: ignore[attr-defined]
            return Table(
                headers=headers,
                rows=_xlsx_rows(rows, number),
                rows_total=max(height - number + first_row, 0),
            )
    raise ImportFileError("The file has no header row and no data.")


def _xlsx_rows(rows: Iterator[list[Cell]], header_number: int) -> Iterator[tuple[int, list[Cell]]]:
    for number, record in enumerate(rows, start=header_number + 1):
        if any(cell != "" and cell is not None for cell in record):
            yield number, [None if cell == "" else cell for cell in record]
