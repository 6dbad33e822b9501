from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from api.idempotency import idempotent
from api.pagination import PageQuery, keyset_page, page_schema
from api.permissions import require
from api.problems import Conflict, Refused
from api.serializers import (
    CampaignInSerializer,
    CampaignPreviewSerializer,
    CampaignProgressSerializer,
    CampaignSerializer,
    MessageSerializer,
)
from api.views.common import get_or_404, query, valid
from campaigns import services
from campaigns.forms import AUDIENCE_FIELDS, CampaignForm
from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from campaigns.selectors import campaign_list, campaign_preview, campaign_progress
from campaigns.templating import TemplateError
from inbox.selectors import messages_with_latest_reply

CONFLICT_DOC = OpenApiResponse(description="Refused in the campaign's current state")


class CampaignQuery(PageQuery):
    status = serializers.ChoiceField(choices=CampaignStatus.choices, required=False)


class MessageQuery(PageQuery):
    campaign = serializers.IntegerField(required=False, min_value=1)
    debtor = serializers.IntegerField(required=False, min_value=1)
    status = serializers.ChoiceField(choices=MessageStatus.choices, required=False)
    updated_since = serializers.DateTimeField(
        required=False, help_text="Only messages changed at or after this time, oldest first"
    )


def _campaign_form(request: Request) -> dict[str, Any]:
    """The page's campaign form judges the fields: the same rules for both."""
    data = valid(CampaignInSerializer, request.data)
    audience = data.get("audience") or {}
    unknown = set(audience) - set(AUDIENCE_FIELDS)
    if unknown:
        raise Refused({"audience": [f"Unknown audience keys: {', '.join(sorted(unknown))}."]})
    form = CampaignForm(
        data={"name": data["name"], "template": data["template"], "pool": data["pool"], **audience}
    )
    if not form.is_valid():
        errors = {
            (name if name in ("name", "template", "pool") else f"audience.{name}"): [
                str(message) for message in messages
            ]
            for name, messages in form.errors.items()
        }
        raise Refused(errors)
    return {
        "name": form.cleaned_data["name"],
        "template": form.cleaned_data["template"],
        "pool": form.cleaned_data["pool"],
        "audience": form.audience(),
    }


@extend_schema(
    methods=["GET"],
    operation_id="campaigns_list",
    parameters=[CampaignQuery],
    responses=page_schema(CampaignSerializer),
)
@extend_schema(methods=["POST"], request=CampaignInSerializer, responses={201: CampaignSerializer})
@api_view(["GET", "POST"])
@idempotent
def campaign_list_view(request: Request) -> Response:
    if request.method == "POST":
        require(request, "campaigns.add_campaign")
        fields = _campaign_form(request)
        try:
            campaign = services.campaign_create(**fields, by=request.user)
        except TemplateError as exc:
            raise Refused({"template": [str(exc)]}) from exc
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)
    require(request, "campaigns.view_campaign")
    filters = query(request, CampaignQuery)
    campaigns: QuerySet[Campaign] = campaign_list()
    if filters.get("status"):
        campaigns = campaigns.filter(status=filters["status"])
    return keyset_page(request, campaigns, CampaignSerializer)


@extend_schema(methods=["GET"], responses=CampaignSerializer)
@extend_schema(
    methods=["PUT"],
    request=CampaignInSerializer,
    responses={200: CampaignSerializer, 409: CONFLICT_DOC},
)
@api_view(["GET", "PUT"])
def campaign_detail(request: Request, pk: int) -> Response:
    campaign = get_or_404(Campaign, pk)
    if request.method == "PUT":
        require(request, "campaigns.change_campaign")
        fields = _campaign_form(request)
        try:
            campaign = services.campaign_update(campaign=campaign, **fields, by=request.user)
        except TemplateError as exc:
            raise Refused({"template": [str(exc)]}) from exc
        except services.CampaignTransitionError as exc:
            raise Conflict(str(exc), current_status=campaign.status) from exc
    else:
        require(request, "campaigns.view_campaign")
    return Response(CampaignSerializer(campaign).data)


@extend_schema(responses=CampaignPreviewSerializer)
@api_view(["GET"])
def campaign_preview_view(request: Request, pk: int) -> Response:
    require(request, "campaigns.view_campaign")
    preview = campaign_preview(campaign=get_or_404(Campaign, pk))
    return Response(
        {
            "audience_count": preview.audience_count,
            "sample": preview.body if preview.debtor is not None else None,
            "problems": preview.problems,
        }
    )


@extend_schema(responses=CampaignProgressSerializer)
@api_view(["GET"])
def campaign_progress_view(request: Request, pk: int) -> Response:
    require(request, "campaigns.view_campaign")
    campaign = get_or_404(Campaign, pk)
    progress = campaign_progress(campaign=campaign)
    return Response(
        {
            "status": campaign.status,
            "total": progress.total,
            "done": progress.done,
            "percent": progress.percent,
            "counts": {bucket.key: bucket.count for bucket in progress.buckets},
        }
    )


def _transition(action: Callable[..., Campaign]) -> Callable[[Request, int], Response]:
    @extend_schema(request=None, responses={200: CampaignSerializer, 409: CONFLICT_DOC})
    @api_view(["POST"])
    @idempotent
    def view(request: Request, pk: int) -> Response:
        require(request, "campaigns.run_campaign")
        campaign = get_or_404(Campaign, pk)
        try:
            campaign = action(campaign=campaign, by=request.user)
        except services.CampaignStartRefused as exc:
            raise Conflict(str(exc), current_status=campaign.status, problems=exc.reasons) from exc
        except services.CampaignTransitionError as exc:
            campaign.refresh_from_db(fields=["status"])
            raise Conflict(str(exc), current_status=campaign.status) from exc
        return Response(CampaignSerializer(campaign).data)

    return view


campaign_start = _transition(services.campaign_start)
campaign_pause = _transition(services.campaign_pause)
campaign_resume = _transition(services.campaign_resume)
campaign_cancel = _transition(services.campaign_cancel)


@extend_schema(parameters=[MessageQuery], responses=page_schema(MessageSerializer))
@api_view(["GET"])
def message_list(request: Request) -> Response:
    """Messages oldest change first with `updated_since` (the way to sync), else by id."""
    require(request, "campaigns.view_campaign")
    filters = query(request, MessageQuery)
    messages = messages_with_latest_reply(Message.objects.all())
    for name in ("campaign", "debtor", "status"):
        if filters.get(name):
            messages = messages.filter(**{name: filters[name]})
    if "updated_since" in filters:
        messages = messages.filter(updated_at__gte=filters["updated_since"])
        return keyset_page(request, messages, MessageSerializer, fields=("updated_at", "id"))
    return keyset_page(request, messages, MessageSerializer)
