"""A campaign's messages as CSV or XLSX: debtor data, so gated and recorded."""

from collections.abc import Iterator

from django.http import HttpResponseBase

from campaigns.models import Campaign, Message
from campaigns.results import debtor_last_reply
from debtors.exports import RESULT_HEADER, result_cells, result_fields
from whatsmassive.exports import ExportCell, csv_response, export_record, xlsx_response
from whatsmassive.roles import Actor, require

MESSAGE_EXPORT_HEADER = [
    "debtor",
    "phone",
    "status",
    "account",
    "attempts",
    "body",
    "last_error",
    "sent_at",
    "delivered_at",
    "read_at",
    "failed_at",
    "reference",
    "amount",
    "currency",
    *RESULT_HEADER,
]


def _message_export_rows(campaign: Campaign) -> Iterator[list[ExportCell]]:
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
    for row in rows:
        yield [*row[:-7], *result_cells(row[-7:])]


def campaign_message_export(*, campaign: Campaign, fmt: str, by: Actor) -> HttpResponseBase:
    """Stream the campaign's messages; cells are escaped against formulas."""
    require(by, "campaigns.export_messages")
    export_record(
        by=by,
        what="campaign messages",
        filters={"campaign_id": campaign.pk, "format": fmt},
        rows=Message.objects.filter(campaign=campaign).count(),
    )
    respond = xlsx_response if fmt == "xlsx" else csv_response
    return respond(
        filename=f"campaign-{campaign.pk}-messages.{fmt}",
        header=MESSAGE_EXPORT_HEADER,
        rows=_message_export_rows(campaign),
    )
