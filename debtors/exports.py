from collections.abc import Iterator

from django.db.models import QuerySet
from django.http import HttpResponseBase

from debtors.models import Debtor
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
