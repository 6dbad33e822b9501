from collections.abc import Iterator, Sequence
from typing import Any

from django.db.models import QuerySet
from django.http import HttpResponseBase
from django.utils.translation import gettext_lazy as _

from campaigns.results import debtor_last_reply
from debtors.models import Debtor, DebtorStatus, DispositionKind, DoNotContact, OptOutSource
from whatsmassive.exports import (
    CSV_COMMA,
    CsvFormat,
    ExportCell,
    csv_response,
    export_record,
    labels,
    xlsx_response,
)
from whatsmassive.roles import Actor, require

# What the team's own system reads back: the debtor's latest reply and its current
# disposition, with the promise (or the day to call back) it holds.
RESULT_HEADER = [
    _("last_reply"),
    _("last_reply_at"),
    _("disposition"),
    _("disposition_at"),
    _("promise_amount"),
    _("promise_date"),
    _("promise_broken"),
    _("call_back_on"),
]


def result_fields(debtor: str = "") -> list[str]:
    """The `values_list` paths `result_cells` reads, on rows annotated with
    `debtor_last_reply` whose debtor is at the path `debtor` ("" on debtors, "debtor__")."""
    current = f"{debtor}current_disposition__"
    return [
        "last_reply",
        "last_reply_at",
        f"{current}kind",
        f"{current}at",
        f"{current}amount",
        f"{current}date",
        f"{current}broken_on",
    ]


def result_cells(values: Sequence[Any], kinds: dict[str, str]) -> list[ExportCell]:
    """The result columns; `kinds` are the disposition labels (`labels(DispositionKind...)`)."""
    reply, reply_at, kind, at, amount, date, broken_on = values
    promise = kind == DispositionKind.PROMISE
    return [
        reply or "",
        reply_at,
        kinds.get(kind, kind) if kind else "",
        at,
        amount if promise else None,
        date if promise else None,
        (broken_on is not None) if promise else None,
        date if kind == DispositionKind.CALL_BACK else None,
    ]


DEBTOR_EXPORT_HEADER = [
    _("name"),
    _("phone"),
    _("amount"),
    _("currency"),
    _("due_date"),
    _("reference"),
    _("status"),
    _("opted_out"),
    _("extra"),
    *RESULT_HEADER,
]


def debtor_export_rows(debtors: QuerySet[Debtor]) -> Iterator[list[ExportCell]]:
    """The rows, with status and disposition labels in the language active when called."""
    statuses, kinds = labels(DebtorStatus.choices), labels(DispositionKind.choices)
    columns = ["name", "phone_e164", "amount", "currency", "due_date", "reference", "status"]
    rows = (
        debtors.annotate(**debtor_last_reply())
        .order_by("name", "id")
        .values_list(*columns, "opted_out", "extra", *result_fields())
        .iterator(chunk_size=2000)
    )
    return _debtor_rows(rows, statuses, kinds)


def _debtor_rows(
    rows: Iterator[tuple[Any, ...]], statuses: dict[str, str], kinds: dict[str, str]
) -> Iterator[list[ExportCell]]:
    for row in rows:
        values, status, (opted_out, extra), results = row[:6], row[6], row[7:9], row[9:]
        extras = "; ".join(f"{key}={value}" for key, value in (extra or {}).items())
        yield [
            *values,
            statuses.get(status, status),
            bool(opted_out),
            extras,
            *result_cells(results, kinds),
        ]


def debtor_export_response(
    *,
    debtors: QuerySet[Debtor],
    fmt: str,
    filename: str,
    filters: dict[str, object],
    by: Actor,
    csv_format: CsvFormat = CSV_COMMA,
) -> HttpResponseBase:
    """Stream the debtors as CSV or XLSX; `filters` (what the user asked for) is recorded."""
    require(by, "debtors.export_debtors")
    export_record(by=by, what="debtors", filters={**filters, "format": fmt}, rows=debtors.count())
    rows = debtor_export_rows(debtors)
    if fmt == "xlsx":
        return xlsx_response(filename=filename, header=DEBTOR_EXPORT_HEADER, rows=rows)
    return csv_response(
        filename=filename, header=DEBTOR_EXPORT_HEADER, rows=rows, csv_format=csv_format
    )


DO_NOT_CONTACT_EXPORT_HEADER = [
    _("phone"),
    _("reason"),
    _("source"),
    _("since"),
    _("added_by"),
]


def _do_not_contact_rows(
    entries: QuerySet[DoNotContact], sources: dict[str, str]
) -> Iterator[list[ExportCell]]:
    for phone, reason, source, since, username in (
        entries.order_by("-id")
        .values_list("phone_e164", "reason", "source", "added_at", "added_by__username")
        .iterator(chunk_size=2000)
    ):
        yield [phone, reason, sources.get(source, source), since, username or ""]


def do_not_contact_export_response(
    *,
    entries: QuerySet[DoNotContact],
    filename: str,
    filters: dict[str, object],
    by: Actor,
    csv_format: CsvFormat = CSV_COMMA,
) -> HttpResponseBase:
    """Stream the registry as CSV (its columns are what an import takes back)."""
    require(by, "debtors.export_debtors")
    export_record(
        by=by,
        what="do-not-contact registry",
        filters={**filters, "format": "csv"},
        rows=entries.count(),
    )
    return csv_response(
        filename=filename,
        header=DO_NOT_CONTACT_EXPORT_HEADER,
        rows=_do_not_contact_rows(entries, labels(OptOutSource.choices)),
        csv_format=csv_format,
    )
