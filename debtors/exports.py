from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import HttpResponseBase

from debtors.models import Debtor, DoNotContact, OptOutSource
from whatsmassive.exports import ExportCell, csv_response, export_record, xlsx_response
from whatsmassive.roles import Actor, require

DEBTOR_EXPORT_HEADER = [
    "name",
    "phone",
    "amount",
    "currency",
    "due_date",
    "reference",
    "status",
    "opted_out",
    "extra",
]


def debtor_export_rows(debtors: QuerySet[Debtor]) -> Iterator[list[ExportCell]]:
    columns = ["name", "phone_e164", "amount", "currency", "due_date", "reference", "status"]
    for row in (
        debtors.order_by("name", "id")
        .values_list(*columns, "opted_out", "extra")
        .iterator(chunk_size=2000)
    ):
        *values, opted_out, extra = row
        extras = "; ".join(f"{key}={value}" for key, value in (extra or {}).items())
        yield [*values, bool(opted_out), extras]


def debtor_export_response(
    *, debtors: QuerySet[Debtor], fmt: str, filename: str, filters: dict[str, object], by: Actor
) -> HttpResponseBase:
    """Stream the debtors as CSV or XLSX; `filters` (what the user asked for) is recorded."""
    require(by, "debtors.export_debtors")
    export_record(by=by, what="debtors", filters={**filters, "format": fmt}, rows=debtors.count())
    rows = debtor_export_rows(debtors)
    if fmt == "xlsx":
        return xlsx_response(filename=filename, header=DEBTOR_EXPORT_HEADER, rows=rows)
    return csv_response(filename=filename, header=DEBTOR_EXPORT_HEADER, rows=rows)


DO_NOT_CONTACT_EXPORT_HEADER = ["phone", "reason", "source", "since", "added_by"]


def _do_not_contact_rows(entries: QuerySet[DoNotContact]) -> Iterator[list[ExportCell]]:
    labels = dict(OptOutSource.choices)
    for phone, reason, source, since, username in (
        entries.order_by("-id")
        .values_list("phone_e164", "reason", "source", "added_at", "added_by__username")
        .iterator(chunk_size=2000)
    ):
        yield [phone, reason, str(labels.get(source, source)), since, username or ""]


def do_not_contact_export_response(
    *, entries: QuerySet[DoNotContact], filename: str, filters: dict[str, object], by: Actor
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
        filename=filename, header=DO_NOT_CONTACT_EXPORT_HEADER, rows=_do_not_contact_rows(entries)
    )
