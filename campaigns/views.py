from collections.abc import Iterator

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, render

from campaigns.models import Campaign, Message
from campaigns.selectors import campaign_list as select_campaigns
from campaigns.selectors import campaign_progress
from whatsmassive.exports import ExportCell, csv_response, xlsx_response


def campaign_list(request: HttpRequest) -> HttpResponse:
    rows = [(campaign, campaign_progress(campaign=campaign)) for campaign in select_campaigns()]
    return render(request, "campaigns/campaign_list.html", {"rows": rows})


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
]


def _message_export_rows(campaign: Campaign) -> Iterator[list[ExportCell]]:
    rows = (
        Message.objects.filter(campaign=campaign)
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
        )
        .iterator(chunk_size=2000)
    )
    for row in rows:
        yield list(row)


def campaign_message_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponseBase:
    """A campaign's messages as CSV or XLSX, streamed; cells are escaped against formulas."""
    if fmt not in {"csv", "xlsx"}:
        raise Http404
    campaign = get_object_or_404(Campaign, pk=pk)
    respond = xlsx_response if fmt == "xlsx" else csv_response
    return respond(
        filename=f"campaign-{campaign.pk}-messages.{fmt}",
        header=MESSAGE_EXPORT_HEADER,
        rows=_message_export_rows(campaign),
    )
