"""Bulk upsert of debtors sent as data (the API), by the very rules of a file import.

The rows are written as a CSV in memory and run through the import engine (E.164 phones,
amounts, dates, dedupe, row errors), so a debtor sent through the API is judged exactly as
one in an uploaded file. All or nothing: one failed row and none is written.
"""

import csv
import io
import re
import tempfile
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import translation

from debtors.imports.engine import ErrorReport, ImportCounts, import_file
from debtors.imports.mapping import EXTRA, Mapping
from debtors.imports.readers import FileInfo
from debtors.imports.values import header_key

BULK_MAX_ROWS = 10_000
# Fields an item may carry, in the order of the file handed to the import engine.
BULK_FIELDS = ("phone", "name", "amount", "currency", "due_date", "reference")
_ROW_IN_REASON = re.compile(r"\brow (\d+)\b")


@dataclass(frozen=True)
class RowError:
    index: int  # position of the item in the request, from 0
    field: str
    value: str
    reason: str


class BulkRejected(Exception):
    """Some rows cannot be taken: nothing was written."""

    def __init__(self, errors: list[RowError]) -> None:
        super().__init__(f"{len(errors)} row(s) rejected")
        self.errors = errors


# A number stands for the text of its cell only where a spreadsheet holds numbers (phones,
# amounts, references, extra columns), and only up to 15 digits: the longest E.164 number,
# and as far as a JSON number keeps every digit.
CELL_NUMBER_FIELDS = frozenset({"phone", "amount", "reference"})
CELL_NUMBER_LIMIT = 10**15 - 1


def cell_takes_numbers(field: str, numbers: bool | None = None) -> bool:
    """Whether a number may stand for the field's text: `numbers`, or by default as
    `CELL_NUMBER_FIELDS` says."""
    return field in CELL_NUMBER_FIELDS if numbers is None else numbers


def cell_text(value: Any, field: str, *, numbers: bool | None = None) -> str:
    """An item's value as the cell text a file would hold (`numbers`: see cell_takes_numbers)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not cell_takes_numbers(field, numbers)
    ):
        raise ValueError(f"{field} must be text")
    if not -CELL_NUMBER_LIMIT <= value <= CELL_NUMBER_LIMIT:
        raise ValueError(f"{field} has more than 15 digits: send it as text")
    if field != "amount":
        return str(value)
    amount = Decimal(str(value))
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]
        raise ValueError("amount has more than 2 decimal places")
    # Plain notation with a point: 1500 -> "1500", 1.5 -> "1.5" (never "1.500").
    return format(amount, "f")


def _extra(index: int, extra: Any, problems: list[RowError]) -> dict[str, Any]:
    """An item's extra fields keyed as an import keys a column ("Ciudad natal" -> ciudad_natal)."""
    if extra is None:
        return {}
    if not isinstance(extra, dict):
        problems.append(RowError(index, "extra", repr(extra)[:200], "extra must be an object"))
        return {}
    keyed = {}
    for name, value in extra.items():
        key = header_key(str(name))
        if not key:
            problems.append(
                RowError(index, "extra", str(name)[:200], "an extra field needs letters or digits")
            )
        keyed[key] = value
    return keyed


def _file_rows(
    rows: list[dict[str, Any]],
) -> tuple[list[str], list[list[str]], list[RowError]]:
    # The phone always: a debtor without one is that row's error, as a blank cell is.
    fields = [f for f in BULK_FIELDS if f == "phone" or any(f in row for row in rows)]
    problems: list[RowError] = []
    extras = [_extra(index, row.get("extra"), problems) for index, row in enumerate(rows)]
    extra_keys = sorted({key for extra in extras for key in extra})
    lines: list[list[str]] = []
    for index, row in enumerate(rows):
        line: list[str] = []
        for field in fields:
            try:
                line.append(cell_text(row.get(field), field))
            except ValueError as exc:
                problems.append(RowError(index, field, repr(row.get(field))[:200], str(exc)))
                line.append("")
        extra = extras[index]
        for key in extra_keys:
            try:
                line.append(cell_text(extra.get(key), key, numbers=True))
            except ValueError as exc:
                problems.append(RowError(index, f"extra.{key}", "", str(exc)))
                line.append("")
        lines.append(line)
    return [*fields, *extra_keys], lines, problems


# The API answers in English, whatever the request's language; the report is read back by
# its English header names.
@translation.override("en")
@transaction.atomic
def debtor_bulk_upsert(
    *, rows: list[dict[str, Any]], region: str, update_existing: bool = True
) -> ImportCounts:
    """Create or update (by phone) up to BULK_MAX_ROWS debtors; raises BulkRejected."""
    if len(rows) > BULK_MAX_ROWS:
        raise ValueError(f"At most {BULK_MAX_ROWS:,} debtors per request.")
    headers, lines, problems = _file_rows(rows)
    if not lines:
        return ImportCounts()
    targets = [field if field in BULK_FIELDS else EXTRA for field in headers]
    mapping = Mapping(headers=headers, targets=targets)
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "rows.csv"
        # The line each item starts on, as the engine numbers rows (quoted newlines count).
        line_of: dict[int, int] = {}
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(headers)
            buffer = io.StringIO()
            line_writer = csv.writer(buffer)
            line_number = 2
            for index, line in enumerate(lines):
                buffer.seek(0)
                buffer.truncate()
                line_writer.writerow(line)
                text = buffer.getvalue()
                line_of[line_number] = index
                line_number += text.count("\n")
                handle.write(text)
        report_file = io.StringIO()
        report = ErrorReport(report_file)
        counts = import_file(
            path=path,
            info=FileInfo(format="csv", encoding="utf-8", delimiter=","),
            mapping=mapping,
            region=region,
            update_existing=update_existing,
            report=report,
        )
    if problems or report.lines:
        # One report: what the items' shapes broke, then what the import rules refused
        # (a value already refused above was handed over blank: its second reason is noise).
        refused = {(error.index, error.field) for error in problems}
        found = _report_errors(report_file.getvalue(), line_of)
        problems += [error for error in found if (error.index, error.field) not in refused]
        raise BulkRejected(sorted(problems, key=lambda error: error.index))
    return counts


def _report_errors(report: str, line_of: dict[int, int]) -> list[RowError]:
    def item(match: re.Match[str]) -> str:
        index = line_of.get(int(match.group(1)))
        return match.group(0) if index is None else f"item {index}"

    errors = []
    # By the report's header names: the report may gain columns.
    for line in csv.DictReader(io.StringIO(report)):
        index = line_of.get(int(line["row"]), -1)
        reason = _ROW_IN_REASON.sub(item, line["reason"])
        errors.append(RowError(index, line["column"], line["value"], reason))
    return errors
