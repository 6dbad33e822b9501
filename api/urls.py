from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.urls import URLPattern, include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from api import problems
from api.views import accounts, campaigns, debtors, webhooks


def public(route: str, view: Callable[..., Any], name: str) -> URLPattern:
    # The API authenticates its own callers (keys or session) and answers 401 as a problem;
    # the pages' login redirect must not catch it.
    return path(route, login_not_required(view), name=name)


v1 = [
    public("debtors/", debtors.debtor_list, "api_debtor_list"),
    public("debtors/bulk/", debtors.debtor_bulk, "api_debtor_bulk"),
    public("debtors/<int:pk>/", debtors.debtor_detail, "api_debtor_detail"),
    public("debtors/<int:pk>/opt-out/", debtors.debtor_opt_out_view, "api_debtor_opt_out"),
    public(
        "debtors/<int:pk>/dispositions/", debtors.debtor_disposition_list, "api_debtor_dispositions"
    ),
    public("imports/", debtors.import_list, "api_import_list"),
    public("imports/<int:pk>/", debtors.import_detail, "api_import_detail"),
    public("imports/<int:pk>/submit/", debtors.import_submit, "api_import_submit"),
    public("imports/<int:pk>/errors.csv", debtors.import_errors, "api_import_errors"),
    public("accounts/", accounts.account_list, "api_account_list"),
    public("accounts/<int:pk>/", accounts.account_detail, "api_account_detail"),
    public("accounts/<int:pk>/connect/", accounts.account_connect, "api_account_connect"),
    public("accounts/<int:pk>/disconnect/", accounts.account_disconnect, "api_account_disconnect"),
    public("accounts/<int:pk>/qr.png", accounts.account_qr, "api_account_qr"),
    public(
        "accounts/<int:pk>/pairing-code/", accounts.account_pairing_code, "api_account_pairing_code"
    ),
    public("pools/", accounts.pool_list, "api_pool_list"),
    public("pools/<int:pk>/", accounts.pool_detail, "api_pool_detail"),
    public("pools/<int:pk>/members/", accounts.pool_members, "api_pool_members"),
    public(
        "pools/<int:pk>/members/<int:member_pk>/",
        accounts.pool_member_delete,
        "api_pool_member_delete",
    ),
    public("campaigns/", campaigns.campaign_list_view, "api_campaign_list"),
    public("campaigns/<int:pk>/", campaigns.campaign_detail, "api_campaign_detail"),
    public("campaigns/<int:pk>/preview/", campaigns.campaign_preview_view, "api_campaign_preview"),
    public(
        "campaigns/<int:pk>/progress/", campaigns.campaign_progress_view, "api_campaign_progress"
    ),
    public("campaigns/<int:pk>/start/", campaigns.campaign_start, "api_campaign_start"),
    public("campaigns/<int:pk>/pause/", campaigns.campaign_pause, "api_campaign_pause"),
    public("campaigns/<int:pk>/resume/", campaigns.campaign_resume, "api_campaign_resume"),
    public("campaigns/<int:pk>/cancel/", campaigns.campaign_cancel, "api_campaign_cancel"),
    public("messages/", campaigns.message_list, "api_message_list"),
    public("webhooks/", webhooks.endpoint_list, "api_webhook_list"),
    public("webhooks/<int:pk>/", webhooks.endpoint_detail, "api_webhook_detail"),
    public("webhooks/<int:pk>/deliveries/", webhooks.delivery_list, "api_webhook_deliveries"),
    public(
        "webhooks/<int:pk>/deliveries/<int:delivery_pk>/replay/",
        webhooks.delivery_replay_view,
        "api_webhook_replay",
    ),
]

urlpatterns = [
    path("v1/", include(v1)),
    public("schema/", SpectacularAPIView.as_view(), "api_schema"),
    public("docs/", SpectacularSwaggerView.as_view(url_name="api_schema"), "api_docs"),
    public("redoc/", SpectacularRedocView.as_view(url_name="api_schema"), "api_redoc"),
    re_path(r"^(?P<path>[\s\S]*)$", login_not_required(problems.not_found)),
]
