from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.paginator import Paginator
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseBase,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from campaigns import exports, policy_selectors, policy_services, selectors, services
from campaigns.forms import CampaignForm, ContactPolicyForm
from campaigns.models import (
    Campaign,
    CampaignStatus,
    ContactPolicy,
    Message,
    MessageStatus,
    default_policy,
)
from campaigns.policies import WEEKDAY_LABELS, windows_format
from campaigns.results import campaign_outcomes_many, campaign_variant_results
from campaigns.services import CampaignStartRefused, CampaignTransitionError
from campaigns.templating import MAX_VARIANTS, placeholder_chips
from sessions_app.models import Pool
from whatsmassive.exports import csv_format_for_request
from whatsmassive.htmx import HtmxHttpRequest

CAMPAIGNS_PER_PAGE = 25
VIEW = "campaigns.view_campaign"


def _get_campaign(pk: int) -> Campaign:
    # Any operator may see and act on any campaign.
    return get_object_or_404(Campaign.objects.select_related("pool", "created_by", "policy"), pk=pk)


@permission_required(VIEW, raise_exception=True)
def campaign_list(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.campaign_list(), CAMPAIGNS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    campaigns = list(page.object_list)
    progress = selectors.campaign_progress_many(campaigns=campaigns)
    outcomes = campaign_outcomes_many(campaign_ids=[campaign.pk for campaign in campaigns])
    rows = [(campaign, progress[campaign.pk], outcomes[campaign.pk]) for campaign in campaigns]
    return render(request, "campaigns/campaign_list.html", {"page": page, "rows": rows})


@permission_required(VIEW, raise_exception=True)
def campaign_bar(request: HttpRequest, pk: int) -> HttpResponse:
    """The shared progress bar alone (the list and the dashboard re-fetch it)."""
    campaign = _get_campaign(pk)
    context = {"campaign": campaign, "progress": selectors.campaign_progress(campaign=campaign)}
    return render(request, "campaigns/_campaign_bar.html", context)


def _preview_context(form: CampaignForm) -> dict[str, Any]:
    draft = form.campaign_for_preview()
    return {
        "preview": selectors.campaign_preview(campaign=draft) if draft is not None else None,
        "audience_errors": form.audience_errors(),
    }


def _form_context(form: CampaignForm, campaign: Campaign | None = None) -> dict[str, Any]:
    return {
        "form": form,
        "campaign": campaign,
        "base_placeholders": placeholder_chips(get_language()),
        "variant_texts": form.typed_variants(),
        "max_variants": MAX_VARIANTS,
        "extra_placeholders": selectors.debtor_extra_keys(),
        **_preview_context(form),
    }


def _text_fields(form: CampaignForm) -> dict[str, Any]:
    return {key: form.cleaned_data[key] for key in ("variants", "locale", "date_style")}


@permission_required("campaigns.add_campaign", raise_exception=True)
def campaign_create(request: HttpRequest) -> HttpResponse:
    first_pool = Pool.objects.order_by("name").values_list("pk", flat=True).first()
    if first_pool is None:
        return render(request, "campaigns/campaign_form.html", {"no_pool": True})
    initial = {"pool": first_pool, "policy": default_policy()}
    form = CampaignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        campaign = services.campaign_create(
            name=form.cleaned_data["name"],
            template=form.cleaned_data["template"],
            pool=form.cleaned_data["pool"],
            audience=form.audience(),
            policy=form.cleaned_data["policy"],
            **_text_fields(form),
            by=request.user,
        )
        return redirect("campaign_detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_form.html", _form_context(form))


@permission_required("campaigns.change_campaign", raise_exception=True)
def campaign_edit(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _get_campaign(pk)
    if campaign.status != CampaignStatus.DRAFT:
        messages.info(request, _("This campaign has started: only a draft can be edited."))
        return redirect("campaign_detail", pk=campaign.pk)
    form = CampaignForm(request.POST or None, initial=CampaignForm.initial_for(campaign))
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(
                campaign=campaign,
                name=form.cleaned_data["name"],
                template=form.cleaned_data["template"],
                pool=form.cleaned_data["pool"],
                audience=form.audience(),
                policy=form.cleaned_data["policy"],
                **_text_fields(form),
                by=request.user,
            )
        except CampaignTransitionError as exc:
            messages.error(request, str(exc))
        return redirect("campaign_detail", pk=campaign.pk)
    return render(request, "campaigns/campaign_form.html", _form_context(form, campaign))


@require_POST
@permission_required(VIEW, raise_exception=True)
def campaign_preview(request: HttpRequest) -> HttpResponse:
    """The live count and sample message for the form as typed so far (nothing is saved)."""
    form = CampaignForm(request.POST)
    return render(request, "campaigns/campaign_form.html#preview", _preview_context(form))


@permission_required(VIEW, raise_exception=True)
def campaign_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    campaign = _get_campaign(pk)
    if request.htmx and not request.htmx.boosted:
        context = _messages_context(request, campaign)
        return render(request, "campaigns/campaign_detail.html#messages", context)
    context = {
        **_page_context(request, campaign),
        "outcomes": campaign_outcomes_many(campaign_ids=[campaign.pk])[campaign.pk],
        "waiting": policy_selectors.campaign_waiting(campaign=campaign),
        "variant_results": (
            campaign_variant_results(campaign=campaign) if len(campaign.templates) > 1 else []
        ),
    }
    return render(request, "campaigns/campaign_detail.html", context)


@permission_required(VIEW, raise_exception=True)
def campaign_waiting_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """What the contact policy holds back now, per zone group (re-fetched as sends go)."""
    campaign = _get_campaign(pk)
    context = {
        "campaign": campaign,
        "waiting": policy_selectors.campaign_waiting(campaign=campaign),
    }
    return render(request, "campaigns/campaign_detail.html#waiting", context)


def _page_context(request: HttpRequest, campaign: Campaign) -> dict[str, Any]:
    live = selectors.campaign_live_context(campaign=campaign)
    return {**_messages_context(request, campaign, progress=live["progress"]), **live}


def _messages_context(
    request: HttpRequest, campaign: Campaign, progress: selectors.CampaignProgress | None = None
) -> dict[str, Any]:
    bucket = request.GET.get("status", "")
    if bucket not in selectors.STATUS_BUCKETS_BY_KEY:
        bucket = ""
    after = request.GET.get("after", "")
    if progress is None:
        progress = selectors.campaign_progress(campaign=campaign)
    page = selectors.campaign_message_page(
        campaign=campaign, bucket=bucket, after=int(after) if after.isdigit() else None
    )
    return {
        "campaign": campaign,
        "bucket": bucket,
        "message_page": page,
        "bucket_counts": progress,
    }


@permission_required(VIEW, raise_exception=True)
def campaign_progress_fragment(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial alone, for its re-fetch on (re)connect and its polling."""
    campaign = _get_campaign(pk)
    return render(
        request,
        "campaigns/campaign_detail.html#progress",
        selectors.campaign_live_context(campaign=campaign),
    )


CampaignChange = Callable[..., Campaign]
CAMPAIGN_CHANGES: dict[str, CampaignChange] = {
    "start": services.campaign_start,
    "pause": services.campaign_pause,
    "resume": services.campaign_resume,
    "cancel": services.campaign_cancel,
}


@require_POST
def campaign_change(request: HtmxHttpRequest, pk: int, action: str) -> HttpResponse:
    """Start, pause, resume or cancel; a refusal is shown in the progress partial."""
    campaign = _get_campaign(pk)
    refusal: list[str] = []
    try:
        CAMPAIGN_CHANGES[action](campaign=campaign, by=request.user)
    except CampaignStartRefused as exc:
        refusal = exc.reasons
    except CampaignTransitionError as exc:
        refusal = [str(exc)]
    campaign = _get_campaign(pk)
    if not request.htmx:
        if not refusal:
            return redirect("campaign_detail", pk=pk)
        context = {
            **_page_context(request, campaign),
            "refusal": refusal,
            "waiting": policy_selectors.campaign_waiting(campaign=campaign),
        }
        return render(request, "campaigns/campaign_detail.html", context)
    context = {**selectors.campaign_live_context(campaign=campaign), "refusal": refusal}
    response = render(request, "campaigns/campaign_detail.html#progress", context)
    if not refusal:
        trigger_client_event(response, "campaign-changed")
    return response


@require_POST
def message_resolve(request: HtmxHttpRequest, pk: int, message_pk: int) -> HttpResponse:
    """An operator checked the phone: mark an unknown message sent, or send it again."""
    campaign = _get_campaign(pk)
    # Through the campaign: the message carries the campaign already loaded.
    message = get_object_or_404(campaign.messages, pk=message_pk)
    outcome = request.POST.get("outcome")
    if outcome not in {"sent", "resend"}:
        return HttpResponseBadRequest(_("Say whether the message was sent or should be resent."))
    error = ""
    try:
        services.message_resolve_unknown(message=message, sent=outcome == "sent", by=request.user)
    except CampaignTransitionError as exc:
        error = str(exc)
    if not request.htmx:
        if error:
            messages.error(request, error)
        back = reverse("campaign_detail", args=[pk])
        return redirect(f"{back}?status={MessageStatus.UNKNOWN}#campaign-messages")
    row = Message.objects.select_related("debtor", "session").get(pk=message.pk)
    context = {
        "campaign": campaign,
        "message": row,
        "row_error": error,
    }
    response = render(request, "campaigns/campaign_detail.html#message_row", context)
    if not error:
        trigger_client_event(response, "messages-changed")
    return response


@permission_required(VIEW, raise_exception=True)
def campaign_message_export(request: HttpRequest, pk: int, fmt: str) -> HttpResponseBase:
    if fmt not in {"csv", "xlsx"}:
        raise Http404
    campaign = get_object_or_404(Campaign, pk=pk)
    return exports.campaign_message_export(
        campaign=campaign, fmt=fmt, by=request.user, csv_format=csv_format_for_request(request)
    )


POLICY_VIEW = "campaigns.view_contactpolicy"


@permission_required(POLICY_VIEW, raise_exception=True)
def policy_list(request: HttpRequest) -> HttpResponse:
    """Every policy in full: anyone who may see them reads them here; some may edit."""
    rows = [
        (policy, list(zip(WEEKDAY_LABELS, map(windows_format, policy.windows), strict=True)))
        for policy in policy_selectors.contact_policy_list()
    ]
    return render(request, "campaigns/policy_list.html", {"rows": rows})


def _policy_form(request: HttpRequest, policy: ContactPolicy) -> HttpResponse:
    form = ContactPolicyForm(request.POST or None, instance=policy)
    if request.method == "POST" and form.is_valid():
        saved = policy_services.contact_policy_save(policy=form.instance, by=request.user)
        messages.success(request, _("Contact policy “%(name)s” saved.") % {"name": saved.name})
        return redirect("policy_list")
    return render(request, "campaigns/policy_form.html", {"form": form, "policy": policy})


@permission_required("campaigns.add_contactpolicy", raise_exception=True)
def policy_create(request: HttpRequest) -> HttpResponse:
    return _policy_form(request, ContactPolicy())


@permission_required("campaigns.change_contactpolicy", raise_exception=True)
def policy_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _policy_form(request, get_object_or_404(ContactPolicy, pk=pk))


@require_POST
def policy_make_default(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(ContactPolicy, pk=pk)
    policy_services.contact_policy_make_default(policy=policy, by=request.user)
    messages.success(request, _("New campaigns now follow “%(name)s”.") % {"name": policy.name})
    return redirect("policy_list")
