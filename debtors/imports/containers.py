"""Spreadsheet containers checked, and their rows counted, without opening the sheet.

XLSX and ODS are zip archives of XML parts: the archive's directory is checked for zip bombs,
every XML part's prologue for entity declarations and the parts for macros, all before any
parser sees the file. Rows are counted from the sheet's `<dimension>` when it is within the
cap, else by streaming the sheet's XML in chunks (bounded memory, nothing kept).
"""

import itertools
import re
import zipfile
from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import IO

from defusedxml import ElementTree
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext, gettext_noop

from debtors.models import ImportFormat

CHUNK_BYTES = 1024 * 1024
# Bytes of each XML part inspected for a DTD: a DOCTYPE sits in the prologue, before any element.
XML_PROLOGUE_BYTES = 4096
# Small parts (workbook, relationships) are read whole; anything larger is not a real one.
SMALL_PART_BYTES = 4 * 1024 * 1024
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
MACRO_ADVICE = gettext_noop("save it as .xlsx (Excel workbook), .ods or CSV without macros")
_RELATIONSHIP_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_DIMENSION = re.compile(rb"<(?:\w+:)?dimension\s+ref=\"[A-Z]*\d*:?[A-Z]*(\d+)\"")
_XLSX_ROW = re.compile(rb"<(\w+:)?row[\s>/]")
# A row without values: self-closing, or holding only self-closing (styled, empty) cells.
# Formatted empty rows below the data are common and must not count.
_XLSX_EMPTY_ROW = rb"<%srow\b[^>]*(?:/>|>(?:<%sc\b[^>]*/>)*</%srow>)"
_ODS_ROW = b"<table:table-row"
_ODS_EMPTY_ROW = re.compile(
    rb"<table:table-row\b[^>]*>(?:<table:table-cell\b[^>]*/>)*</table:table-row>"
)
_ODS_TABLE_END = b"</table:table>"
# A row longer than this (a hostile one) is not waited for: counting moves past it.
_MAX_PENDING_BYTES = 8 * CHUNK_BYTES


class ContainerError(Exception):
    """The container is refused; the message tells the operator why."""


def inspect_zip(path: str) -> tuple[str, int]:
    """The format (XLSX or ODS) and its first sheet's data rows (header row excluded)."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = _check_archive(archive)
            if _read_small(archive, "mimetype", names).strip() == ODS_MIMETYPE:
                _check_ods_macros(names)
                return ImportFormat.ODS, max(_count_ods_rows(archive) - 1, 0)
            if "xl/workbook.bin" in names:
                raise ContainerError(
                    "Binary Excel workbooks (.xlsb) are not supported: save it as .xlsx or CSV."
                )
            if "xl/workbook.xml" not in names:
                raise ContainerError(
                    "The file is a zip archive but not an XLSX or ODS spreadsheet."
                )
            _check_xlsx_macros(archive, names)
            return ImportFormat.XLSX, max(_count_xlsx_rows(archive, names) - 1, 0)
    except zipfile.BadZipFile as exc:
        raise ContainerError("The file looks like a spreadsheet but is not a valid zip.") from exc


def count_rows(path: str, file_format: str) -> int:
    """Data rows of the first sheet, always by streaming its XML (the worker's own count)."""
    with zipfile.ZipFile(path) as archive:
        if file_format == ImportFormat.ODS:
            return max(_count_ods_rows(archive) - 1, 0)
        sheet = _first_sheet_part(archive, set(archive.namelist()))
        with archive.open(sheet) as part:
            return max(_count_sheet_rows(_chunks(part)) - 1, 0)


def _check_archive(archive: zipfile.ZipFile) -> set[str]:
    entries = archive.infolist()
    if len(entries) > settings.IMPORT_XLSX_MAX_ENTRIES:
        raise ContainerError(
            gettext("The spreadsheet holds %(parts)s parts; the limit is %(limit)s.")
            % {"parts": len(entries), "limit": settings.IMPORT_XLSX_MAX_ENTRIES}
        )
    total = sum(entry.file_size for entry in entries)
    if total > settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES:
        raise ContainerError(
            gettext("The spreadsheet unpacks to %(size)s; the limit is %(limit)s.")
            % {
                "size": filesizeformat(total),
                "limit": filesizeformat(settings.IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES),
            }
        )
    for entry in entries:
        ratio = entry.file_size / max(entry.compress_size, 1)
        if ratio > settings.IMPORT_XLSX_MAX_RATIO:
            raise ContainerError(
                gettext(
                    "The spreadsheet part %(part)s is compressed %(ratio)s:1, "
                    "which only a zip bomb does; the file was not opened."
                )
                % {"part": entry.filename, "ratio": f"{ratio:.0f}"}
            )
    for entry in entries:
        if entry.filename.endswith((".xml", ".rels")):
            with archive.open(entry) as part:
                prologue = part.read(XML_PROLOGUE_BYTES)
            if b"<!DOCTYPE" in prologue or b"<!ENTITY" in prologue:
                raise ContainerError(
                    gettext(
                        "The spreadsheet part %(part)s declares XML entities; "
                        "the file was not opened."
                    )
                    % {"part": entry.filename}
                )
    return {entry.filename for entry in entries}


def _read_small(archive: zipfile.ZipFile, name: str, names: set[str]) -> bytes:
    if name not in names:
        return b""
    if archive.getinfo(name).file_size > SMALL_PART_BYTES:
        raise ContainerError(
            gettext("The spreadsheet part %(part)s is too large to be genuine.") % {"part": name}
        )
    return archive.read(name)


def _check_xlsx_macros(archive: zipfile.ZipFile, names: set[str]) -> None:
    content_types = _read_small(archive, "[Content_Types].xml", names)
    if any(PurePosixPath(name).name == "vbaProject.bin" for name in names) or (
        b"macroEnabled" in content_types
    ):
        raise ContainerError(
            gettext("The workbook contains macros (.xlsm): %(advice)s.")
            % {"advice": gettext(MACRO_ADVICE)}
        )


def _check_ods_macros(names: set[str]) -> None:
    if any(name.startswith(("Basic/", "Scripts/")) for name in names):
        raise ContainerError(
            gettext("The spreadsheet contains macros: %(advice)s.")
            % {"advice": gettext(MACRO_ADVICE)}
        )


def _first_sheet_part(archive: zipfile.ZipFile, names: set[str]) -> str:
    """The part of the workbook's first sheet, as its relationships name it."""
    try:
        workbook = ElementTree.fromstring(_read_small(archive, "xl/workbook.xml", names))
        relationships = ElementTree.fromstring(
            _read_small(archive, "xl/_rels/workbook.xml.rels", names)
        )
    except ElementTree.ParseError as exc:
        raise ContainerError("The XLSX workbook part cannot be read.") from exc
    sheet = next((node for node in workbook.iter() if node.tag.endswith("}sheet")), None)
    if sheet is None:
        raise ContainerError("The XLSX workbook has no sheet.")
    wanted = sheet.get(_RELATIONSHIP_ID)
    for relationship in relationships.iter():
        if relationship.get("Id") == wanted:
            target = relationship.get("Target", "")
            name = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
            if name in names:
                return name
    raise ContainerError("The XLSX workbook's first sheet is missing.")


def _count_xlsx_rows(archive: zipfile.ZipFile, names: set[str]) -> int:
    """Rows of the first sheet, header included: its dimension when within the cap."""
    sheet = _first_sheet_part(archive, names)
    with archive.open(sheet) as part:
        match = _DIMENSION.search(part.read(XML_PROLOGUE_BYTES * 4))
    if match is not None and int(match.group(1)) > 1:
        last_row = int(match.group(1))
        if last_row <= settings.IMPORT_MAX_ROWS + 1:
            return last_row
    # No dimension, or one over the cap (formatted empty rows widen it): count data rows.
    with archive.open(sheet) as part:
        return _count_sheet_rows(_chunks(part))


def _count_sheet_rows(chunks: Iterator[bytes]) -> int:
    first = next(chunks, b"")
    found = _XLSX_ROW.search(first)
    prefix = found.group(1) or b"" if found else b""
    marker = b"<" + prefix + b"row"
    start = re.compile(re.escape(marker) + rb"[\s>/]")
    empty = re.compile(_XLSX_EMPTY_ROW % (prefix, prefix, prefix))
    return _count_rows(
        itertools.chain([first], chunks), marker=marker, start=start, empty=empty, end=None
    )


def _count_ods_rows(archive: zipfile.ZipFile) -> int:
    with archive.open("content.xml") as part:
        return _count_rows(
            _chunks(part),
            marker=_ODS_ROW,
            start=re.compile(re.escape(_ODS_ROW) + rb"[\s>/]"),
            empty=_ODS_EMPTY_ROW,
            end=_ODS_TABLE_END,
        )


def _chunks(part: IO[bytes]) -> Iterator[bytes]:
    while chunk := part.read(CHUNK_BYTES):
        yield chunk


def _count_rows(
    chunks: Iterator[bytes],
    *,
    marker: bytes,
    start: re.Pattern[bytes],
    empty: re.Pattern[bytes],
    end: bytes | None,
) -> int:
    """Rows with a value in a stream of XML, up to `end` (the first table's close).

    Each buffer is cut where its last row starts, so every row counted lies whole in the
    part searched; the counting itself is C-speed `findall` over megabyte buffers.
    """
    rows = 0
    pending = b""
    for chunk in itertools.chain(chunks, [b""]):
        buffer = pending + chunk
        cut = buffer.rfind(marker) if chunk else len(buffer)
        if cut <= 0:
            if len(buffer) <= _MAX_PENDING_BYTES:
                pending = buffer
                continue
            cut = len(buffer) - len(marker)
        stop = buffer.find(end, 0, cut) if end is not None else -1
        limit = cut if stop < 0 else stop
        # Searched in place (pos/endpos): no copy of the megabyte buffer.
        rows += len(start.findall(buffer, 0, limit)) - len(empty.findall(buffer, 0, limit))
        if stop >= 0:
            break
        pending = buffer[cut:]
    return rows
