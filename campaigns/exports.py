"""A campaign's messages as CSV or XLSX: debtor data, so gated and recorded."""

from collections.abc import Iterator
from typing import Any

from django.http import HttpResponseBase
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, Message, MessageStatus
from campaigns.results import debtor_last_reply
from debtors.exports import RESULT_HEADER, result_cells, result_fields
from debtors.models import DispositionKind
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

MESSAGE_EXPORT_HEADER = [
    _("debtor"),
    _("phone"),
    _("status"),
    _("account"),
    _("attempts"),
    _("body"),
    _("last_error"),
    _("sent_at"),
    _("delivered_at"),
    _("read_at"),
    _("failed_at"),
    _("reference"),
    _("amount"),
    _("currency"),
    *RESULT_HEADER,
]


def _message_export_rows(campaign: Campaign) -> Iterator[list[ExportCell]]:
    """The rows, with status and disposition labels in the language active when called."""
    statuses, kinds = labels(MessageStatus.choices), labels(DispositionKind.choices)
    rows = (
        Message.objects.filter(campaign=campaign)
        .annotate(**debtor_last_reply(debtor="debtor_id"))
        .order_by("id")
        .values_list(
            "debtor__name",
            "debtor__phone_e164",
            "status",
            "session__name",
            "attempts",
            "body",
            "last_error",
            "sent_at",
            "delivered_at",
            "read_at",
            "failed_at",
            "debtor__reference",
            "debtor__amount",
            "debtor__currency",
            *result_fields("debtor__"),
        )
        .iterator(chunk_size=2000)
    )
    return _rows(rows, statuses, kinds)


def _rows(
    rows: Iterator[tuple[Any, ...]], statuses: dict[str, str], kinds: dict[str, str]
) -> Iterator[list[ExportCell]]:
    for name, phone, status, *values in rows:
        yield [
            name,
            phone,
            statuses.get(status, status),
            *values[:-7],
            *result_cells(values[-7:], kinds),
        ]


def campaign_message_export(
    *, campaign: Campaign, fmt: str, by: Actor, csv_format: CsvFormat = CSV_COMMA
) -> HttpResponseBase:
    """Stream the campaign's messages; cells are escaped against formulas."""
    require(by, "campaigns.export_messages")
    export_record(
        by=by,
        what="campaign messages",
        filters={"campaign_id": campaign.pk, "format": fmt},
        rows=Message.objects.filter(campaign=campaign).count(),
    )
    filename = f"campaign-{campaign.pk}-messages.{fmt}"
    rows = _message_export_rows(campaign)
    if fmt == "xlsx":
        return xlsx_response(filename=filename, header=MESSAGE_EXPORT_HEADER, rows=rows)
    return csv_response(
        filename=filename, header=MESSAGE_EXPORT_HEADER, rows=rows, csv_format=csv_format
    )
