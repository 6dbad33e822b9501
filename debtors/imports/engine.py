"""Running one debtor file: parse, normalise, dedupe and write in batches.

The caller owns the transaction (the whole file is one transaction: all rows or none).
Rows stream from the reader; only the phones already seen stay in memory, for dedupe.
"""

import csv
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Protocol, TextIO

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop

from campaigns.policies import time_zone_canonical
from debtors.imports.mapping import Mapping, guess_mapping
from debtors.imports.readers import FileInfo, ImportFileError, Table, open_table
from debtors.imports.values import Cell, CellError, cell_text, parse_amount, parse_date, parse_phone
from debtors.models import Debtor
from whatsmassive.exports import escape_cell

BATCH_ROWS = 5000
PROGRESS_EVERY = 5000
ERROR_REPORT_HEADER = [
    gettext_lazy("row"),
    gettext_lazy("name"),
    gettext_lazy("column"),
    gettext_lazy("value"),
    gettext_lazy("reason"),
]
NUL_REASON = gettext_noop("holds a NUL character (a binary file or a broken export)")
_LIMITS = {"name": 200, "reference": 100}
# The fields a column may be mapped to, besides the phone.
_FIELDS = ("name", "amount", "currency", "due_date", "reference", "time_zone")
# Columns written on insert, in COPY order; `updatable` are those an update may overwrite.
_COLUMNS = [
    "name",
    "phone_e164",
    "phone_raw",
    "amount",
    "currency",
    "due_date",
    "reference",
    "time_zone",
]


@dataclass
class ImportCounts:
    rows_read: int = 0
    imported: int = 0
    updated: int = 0
    duplicates: int = 0
    invalid: int = 0

    def summary(self) -> str:
        return (
            f"imported={self.imported} updated={self.updated} "
            f"duplicates={self.duplicates} invalid={self.invalid}"
        )


@dataclass(frozen=True)
class CleanRow:
    number: int
    phone_e164: str
    name: str
    values: dict[str, Any]
    extra: dict[str, str] = field(default_factory=dict)


class ErrorReport:
    """The rows not taken, as CSV: row number, the row's name, column, value, reason.

    The header (and the reasons) are in the language active while the import runs: the
    request's, or the one a background run was given.
    """

    def __init__(self, handle: TextIO) -> None:
        self._writer = csv.writer(handle)
        self._writer.writerow([str(title) for title in ERROR_REPORT_HEADER])
        self.lines = 0

    def add(self, row: int, name: str, column: str, value: str, reason: str) -> None:
        # Values come from the uploaded file and the report is opened in spreadsheets.
        self._writer.writerow(
            [row, escape_cell(name[:200]), escape_cell(column), escape_cell(value[:200]), reason]
        )
        self.lines += 1


ProgressCallback = Callable[[ImportCounts], None]


class BatchWriter(Protocol):
    """Where clean rows go: the debtors table, or the do-not-contact registry."""

    def write(self, batch: list[CleanRow]) -> tuple[set[str], set[str]]:
        """Write a batch; returns the phones inserted and the phones updated."""
        ...

    def refusal(self, row: CleanRow) -> str:
        """The error report's reason for a row neither inserted nor updated."""
        ...


class _Importer:
    def __init__(
        self,
        *,
        table: Table,
        mapping: Mapping,
        region: str,
        update_existing: bool,
        report: ErrorReport,
        on_progress: ProgressCallback | None,
        progress_every: int,
        writer: BatchWriter | None,
    ) -> None:
        self.table = table
        self.mapping = mapping
        self.region = region
        self.update_existing = update_existing
        self.report = report
        self.on_progress = on_progress
        self.progress_every = progress_every
        self.counts = ImportCounts()
        self.first_row_by_phone: dict[str, int] = {}
        self.width = len(mapping.headers)
        self.phone_column = mapping.column("phone")
        self.columns = {name: mapping.column(name) for name in _FIELDS}
        self.extra_columns = mapping.extra_columns()
        self.writer = writer or _PostgresWriter(mapping=mapping, update_existing=update_existing)

    def run(self) -> ImportCounts:
        batch: list[CleanRow] = []
        max_rows = settings.IMPORT_MAX_ROWS
        for number, cells in self.table.rows:
            self.counts.rows_read += 1
            if self.counts.rows_read > max_rows:
                raise ImportFileError(
                    f"The file has more than {max_rows:,} rows: split it and import each part."
                )
            row = self._clean(number, cells)
            if row is not None:
                batch.append(row)
            if len(batch) >= BATCH_ROWS:
                self._flush(batch)
                batch = []
            if self.on_progress and self.counts.rows_read % self.progress_every == 0:
                self.on_progress(self.counts)
        self._flush(batch)
        if self.counts.rows_read == 0:
            raise ImportFileError("The file has a header row but no data rows.")
        if self.on_progress:
            self.on_progress(self.counts)
        return self.counts

    def _clean(self, number: int, cells: list[Cell]) -> CleanRow | None:
        name = self._name(cells)
        if len(cells) < self.width or any(cell_text(cell) for cell in cells[self.width :]):
            self.counts.invalid += 1
            self.report.add(
                number, name, "", "", f"row has {len(cells)} fields, the header has {self.width}"
            )
            return None
        assert self.phone_column is not None
        headers = self.mapping.headers
        errors = [
            (column, NUL_REASON)
            for column, cell in enumerate(cells[: self.width])
            if type(cell) is str and "\x00" in cell
        ]
        if errors:
            self._reject(number, name, cells, errors)
            return None
        phone_cell = cells[self.phone_column]
        phone = ""
        try:
            phone = parse_phone(phone_cell, region=self.region)
        except CellError as exc:
            errors.append((self.phone_column, str(exc)))
        values: dict[str, Any] = {"phone_raw": cell_text(phone_cell)[:64]}
        amount_currency = None
        for field_name, column in self.columns.items():
            if column is None:
                continue
            try:
                if field_name == "amount":
                    values["amount"], amount_currency = parse_amount(cells[column])
                else:
                    values[field_name] = self._value(field_name, cells[column])
            except CellError as exc:
                errors.append((column, str(exc)))
        currency = values.get("currency") or amount_currency
        if amount_currency and currency != amount_currency:
            errors.append(
                (self.columns["amount"] or 0, f"amount is in {amount_currency}, not {currency}")
            )
        if self.columns["currency"] is not None or amount_currency:
            values["currency"] = currency or settings.DEFAULT_CURRENCY
        if errors:
            self._reject(number, name, cells, errors)
            return None
        first = self.first_row_by_phone.setdefault(phone, number)
        if first != number:
            self.counts.duplicates += 1
            self.report.add(
                number,
                name,
                headers[self.phone_column],
                cell_text(phone_cell),
                f"same phone as row {first} ({phone}): the first row was kept",
            )
            return None
        extra = {key: cell_text(cells[column]) for column, key in self.extra_columns}
        return CleanRow(number=number, phone_e164=phone, name=name, values=values, extra=extra)

    def _name(self, cells: list[Cell]) -> str:
        column = self.columns["name"]
        if column is None or column >= len(cells):
            return ""
        return cell_text(cells[column]).replace("\x00", "")

    def _reject(
        self, number: int, name: str, cells: list[Cell], errors: list[tuple[int, str]]
    ) -> None:
        self.counts.invalid += 1
        for column, reason in errors:
            value = cell_text(cells[column]).replace("\x00", "")
            self.report.add(number, name, self.mapping.headers[column], value, reason)

    @staticmethod
    def _value(name: str, cell: Cell) -> Any:
        if name == "due_date":
            return parse_date(cell)
        text = cell_text(cell)
        if name == "currency":
            currency = text.upper()
            if currency and (len(currency) != 3 or not currency.isalpha()):
                raise CellError(gettext_noop("currency is not a 3-letter code (COP, USD)"))
            return currency
        if name == "name" and not text:
            raise CellError(gettext_noop("name is blank"))
        if name == "time_zone":
            zone = time_zone_canonical(text)
            if zone is None:
                raise CellError(
                    _("“%(zone)s” is not a time zone: write its IANA name, e.g. America/Bogota")
                    % {"zone": text[:64]}
                )
            return zone
        if len(text) > _LIMITS[name]:
            raise CellError(f"{name} is longer than {_LIMITS[name]} characters")
        return text

    def _flush(self, batch: list[CleanRow]) -> None:
        if not batch:
            return
        inserted, updated = self.writer.write(batch)
        self.counts.imported += len(inserted)
        self.counts.updated += len(updated)
        for row in batch:
            if row.phone_e164 not in inserted and row.phone_e164 not in updated:
                self.counts.duplicates += 1
                self.report.add(
                    row.number,
                    row.name,
                    self.mapping.headers[self.phone_column or 0],
                    str(row.values["phone_raw"]),
                    self.writer.refusal(row),
                )


class _PostgresWriter:
    """COPY each batch into a temporary table, then one INSERT ... ON CONFLICT per batch."""

    def __init__(self, *, mapping: Mapping, update_existing: bool) -> None:
        self.update_existing = update_existing
        self.defaults = {
            "name": "",
            "amount": Decimal("0"),
            "currency": settings.DEFAULT_CURRENCY,
            "due_date": None,
            "reference": "",
            "time_zone": "",
        }
        mapped = set(_FIELDS) & set(mapping.targets)
        self.updatable = ["phone_raw", *(column for column in _COLUMNS if column in mapped)]
        self.table_ready = False

    def write(self, batch: list[CleanRow]) -> tuple[set[str], set[str]]:
        if connection.vendor != "postgresql":
            return _write_with_orm(batch, defaults=self.defaults, update=self._update_fields())
        with connection.cursor() as cursor:
            if not self.table_ready:
                cursor.execute(
                    "CREATE TEMPORARY TABLE IF NOT EXISTS debtor_import_rows ("
                    "name text, phone_e164 text, phone_raw text, amount numeric(14, 2),"
                    " currency text, due_date date, reference text, time_zone text, extra jsonb)"
                    " ON COMMIT DROP"
                )
                self.table_ready = True
            cursor.execute("TRUNCATE debtor_import_rows")
            columns = ", ".join([*_COLUMNS, "extra"])
            with cursor.cursor.copy(f"COPY debtor_import_rows ({columns}) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row([*self._row_values(row), json.dumps(row.extra)])
            now = timezone.now()
            if self.update_existing:
                assignments = ", ".join(
                    f"{column} = EXCLUDED.{column}" for column in self.updatable
                )
                conflict = (
                    f"DO UPDATE SET {assignments}, updated_at = %s,"
                    " extra = debtors_debtor.extra || EXCLUDED.extra"
                )
                params: list[Any] = [now, now, now]
            else:
                conflict = "DO NOTHING"
                params = [now, now]
            cursor.execute(
                f"INSERT INTO debtors_debtor ({columns}, status, opted_out, created_at,"  # noqa: S608
                f" updated_at) SELECT {columns}, 'new', false, %s, %s FROM debtor_import_rows"
                f" ON CONFLICT (phone_e164) {conflict} RETURNING phone_e164, (xmax = 0)",
                params,
            )
            results = cursor.fetchall()
        inserted = {phone for phone, was_inserted in results if was_inserted}
        updated = {phone for phone, was_inserted in results if not was_inserted}
        return inserted, updated

    def refusal(self, row: CleanRow) -> str:
        return f"{row.phone_e164} is already a debtor (update existing is off)"

    def _row_values(self, row: CleanRow) -> list[object]:
        values = {**self.defaults, **row.values, "phone_e164": row.phone_e164}
        return [values[column] for column in _COLUMNS]

    def _update_fields(self) -> list[str] | None:
        return self.updatable if self.update_existing else None


def _write_with_orm(
    batch: list[CleanRow], *, defaults: dict[str, Any], update: list[str] | None
) -> tuple[set[str], set[str]]:
    """The portable path (SQLite in `make run`): slower, same outcome."""
    phones = [row.phone_e164 for row in batch]
    existing: dict[str, Debtor] = {}
    for start in range(0, len(phones), 500):
        chunk = phones[start : start + 500]
        existing.update((d.phone_e164, d) for d in Debtor.objects.filter(phone_e164__in=chunk))
    new = [
        Debtor(phone_e164=row.phone_e164, extra=row.extra, **{**defaults, **row.values})
        for row in batch
        if row.phone_e164 not in existing
    ]
    Debtor.objects.bulk_create(new, batch_size=500)
    changed: list[Debtor] = []
    if update is not None:
        for row in batch:
            debtor = existing.get(row.phone_e164)
            if debtor is None:
                continue
            for column in update:
                setattr(debtor, column, row.values.get(column, getattr(debtor, column)))
            debtor.extra = {**debtor.extra, **row.extra}
            debtor.updated_at = timezone.now()
            changed.append(debtor)
        Debtor.objects.bulk_update(changed, [*update, "extra", "updated_at"], batch_size=500)
    return {debtor.phone_e164 for debtor in new}, {debtor.phone_e164 for debtor in changed}


def import_file(
    *,
    path: Path,
    info: FileInfo,
    mapping: Mapping | None,
    region: str,
    update_existing: bool,
    report: ErrorReport,
    on_progress: ProgressCallback | None = None,
    progress_every: int = PROGRESS_EVERY,
    writer: BatchWriter | None = None,
) -> ImportCounts:
    """Import every row of `path`; rows that are not taken go to `report` with a reason.

    Raises ImportFileError for a problem with the whole file. Without a mapping, columns
    are guessed from the headers. Rows go to the debtors table unless `writer` says where.
    """
    with open_table(path, info) as table:
        if mapping is None:
            mapping = guess_mapping(table.headers)
        elif mapping.headers != table.headers:
            raise ImportFileError("The file's headers changed since the mapping was chosen.")
        problems = mapping.errors()
        if problems:
            raise ImportFileError(" ".join(problems))
        return _Importer(
            table=table,
            mapping=mapping,
            region=region,
            update_existing=update_existing,
            report=report,
            on_progress=on_progress,
            progress_every=progress_every,
            writer=writer,
        ).run()
