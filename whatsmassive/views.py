import datetime
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_not_required, permission_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.models import User
from django.core.paginator import Paginator
from django.db.models import Model
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.safestring import mark_safe
from django.utils.translation import get_language_from_request
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import reswap, retarget
from django_otp import login as otp_login
from django_otp import match_token, user_has_device

from sessions_app.qr import qr_svg
from sessions_app.selectors import dashboard_accounts_context
from whatsmassive.exports import audit_export_response, csv_format_for_request
from whatsmassive.forms import AuditFilterForm, PreferencesForm
from whatsmassive.htmx import HtmxHttpRequest
from whatsmassive.languages import (
    language_apply,
    language_is_known,
    user_language,
    user_language_set,
)
from whatsmassive.models import LogLevel, SystemLog
from whatsmassive.selectors import (
    audit_page,
    audit_search,
    dashboard_results_context,
    dashboard_running_campaigns,
    dashboard_today_context,
    sends_per_minute_chart,
    system_log_list,
    system_log_newer,
    system_log_recent_errors,
    system_log_sources,
)
from whatsmassive.two_factor import (
    TokenForm,
    totp_device_confirm,
    totp_device_pending,
)

# Each live area of the dashboard: its partial in dashboard.html and the context it needs.
DASHBOARD_FRAGMENTS: dict[str, Callable[[], dict[str, Any]]] = {
    "accounts": dashboard_accounts_context,
    "running": lambda: {"running": dashboard_running_campaigns()},
    "chart": lambda: {"chart": sends_per_minute_chart()},
    "results": dashboard_results_context,
    "today": dashboard_today_context,
    "errors": lambda: {"recent_errors": system_log_recent_errors(), "error_level": LogLevel.ERROR},
}


def dashboard(request: HttpRequest) -> HttpResponse:
    """The page, or with `?fragment=<name>` just that area (what its refresh and poll get)."""
    fragment = request.GET.get("fragment", "")
    if fragment in DASHBOARD_FRAGMENTS:
        context = DASHBOARD_FRAGMENTS[fragment]()
        return render(request, f"whatsmassive/dashboard.html#{fragment}", context)
    context = {}
    for build in DASHBOARD_FRAGMENTS.values():
        context.update(build())
    return render(request, "whatsmassive/dashboard.html", context)


# Context keys that name a row with its own page, and that page's URL name.
CONTEXT_LINKS = {"campaign_id": "campaign_detail", "session_id": "session_detail"}


@dataclass(frozen=True)
class LogContextItem:
    key: str
    value: str
    url: str = ""

    @property
    def is_multiline(self) -> bool:
        return "\n" in self.value


@dataclass(frozen=True)
class LogRow:
    log: SystemLog
    context: list[LogContextItem]


def _log_rows(logs: list[SystemLog]) -> list[LogRow]:
    rows = []
    for log in logs:
        items = []
        for key, value in log.context.items():
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            link = CONTEXT_LINKS.get(key)
            url = reverse(link, args=[value]) if link and isinstance(value, int) else ""
            items.append(LogContextItem(key=key, value=text, url=url))
        rows.append(LogRow(log=log, context=items))
    return rows


@permission_required("whatsmassive.view_systemlog", raise_exception=True)
def log_list(request: HtmxHttpRequest) -> HttpResponse:
    """Logs, newest first. `?after=<id>` answers the live tail: only rows newer than that."""
    level = request.GET.get("level", "")
    min_level = int(level) if level.isdigit() else None
    source = request.GET.get("source", "")
    search = request.GET.get("q", "").strip()
    logs = system_log_list(min_level=min_level, source=source, search=search)
    given = {"level": level, "source": source, "q": search}
    filters = urlencode({key: value for key, value in given.items() if value})
    after = request.GET.get("after", "")
    if after.isdigit():
        newer = system_log_newer(logs=logs, after_id=int(after))
        context = {
            "rows": _log_rows(newer),
            "after": newer[0].pk if newer else int(after),
            "filters": filters,
            "fresh": True,
        }
        return render(request, "whatsmassive/logs.html#tail", context)
    page = Paginator(logs, 50).get_page(request.GET.get("page"))
    rows = _log_rows(list(page))
    tail = page.number == 1
    context = {
        "page": page,
        "rows": rows,
        "tail": tail,
        "live": tail and not search,
        "after": max((row.log.pk for row in rows), default=0),
        "filters": filters,
        "levels": LogLevel.choices,
        "level": min_level,
        "sources": system_log_sources(),
        "source": source,
        "q": search,
    }
    template = "whatsmassive/logs.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


def permission_denied(request: HtmxHttpRequest, exception: Exception) -> HttpResponse:
    """403: a page saying what the role lacks; for htmx, that notice in the page's flash area."""
    context = {"reason": str(exception) if str(exception) else ""}
    if getattr(request, "htmx", False):
        response = render(request, "403.html#denied", context, status=403)
        return reswap(retarget(response, "#flash-area"), "innerHTML")
    return render(request, "403.html", context, status=403)


def login_locked_out(
    request: HttpRequest, original_response: HttpResponse | None, credentials: object
) -> HttpResponse:
    """The login page again, saying why it refuses (axes: too many failed logins)."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    context = {
        "form": AuthenticationForm(request),
        "locked_out": (
            _(
                "Too many failed logins: logging in is blocked for %(minutes)s minutes "
                "for this username and from this address. Wait, or ask an administrator."
            )
            % {"minutes": minutes}
        ),
        "next": request.POST.get("next", ""),
    }
    return render(request, "registration/login.html", context, status=429)


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("dashboard")


def second_factor_verify(request: HttpRequest) -> HttpResponse:
    """Ask for a code (from the authenticator app, or a recovery code) once per session."""
    if not user_has_device(request.user):
        return redirect(
            f"{reverse('second_factor_enrol')}?{urlencode({'next': _next_url(request)})}"
        )
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        device = match_token(request.user, form.cleaned_data["token"])
        if device is not None:
            otp_login(request, device)
            return redirect(_next_url(request))
        form.add_error(
            "token",
            _(
                "That code is not valid, was used already or came too soon after a wrong one: "
                "wait a moment and try the next one."
            ),
        )
    context = {"form": form, "next": _next_url(request)}
    return render(request, "registration/second_factor_verify.html", context)


def second_factor_enrol(request: HttpRequest) -> HttpResponse:
    """Link an authenticator app (scan the QR, type one code), then show recovery codes once.

    A user who already has one must verify first: enrolling anew replaces it.
    """
    user = request.user
    assert isinstance(user, User)  # LoginRequiredMiddleware lets only users through
    if user_has_device(user) and not user.is_verified():  # type: ignore[attr-defined]
        return redirect(
            f"{reverse('second_factor_verify')}?{urlencode({'next': _next_url(request)})}"
        )
    device = totp_device_pending(user=user)
    form = TokenForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        if device.verify_token(form.cleaned_data["token"]):
            codes = totp_device_confirm(device=device)
            otp_login(request, device)
            return render(
                request,
                "registration/second_factor_codes.html",
                {"codes": codes, "next": _next_url(request)},
            )
        form.add_error(
            "token", _("That code does not match: check the phone's clock and try again.")
        )
    context: dict[str, object] = {
        "form": form,
        # Our own SVG, drawn from the device's otpauth:// URL; no user text in it.
        "qr": mark_safe(qr_svg(device.config_url).decode()),  # noqa: S308
        "secret_url": device.config_url,
        "next": _next_url(request),
    }
    return render(request, "registration/second_factor_enrol.html", context)


def _audit_filtered(request: HttpRequest) -> tuple[AuditFilterForm, dict[str, Any]]:
    form = AuditFilterForm(request.GET)
    return form, (form.filters() if form.is_valid() else {})


@permission_required("whatsmassive.view_auditrecord", raise_exception=True)
def audit_list(request: HtmxHttpRequest) -> HttpResponse:
    form, filters = _audit_filtered(request)
    before = request.GET.get("before", "")
    page = audit_page(
        records=audit_search(**filters), before=int(before) if before.isdigit() else None
    )
    query = request.GET.copy()
    query.pop("before", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    template = "whatsmassive/audit.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


def _as_recorded(value: object) -> object:
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    return value


def audit_export(request: HttpRequest) -> StreamingHttpResponse:
    _, filters = _audit_filtered(request)
    recorded = {
        key: _as_recorded(value) for key, value in filters.items() if value not in ("", None)
    }
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return audit_export_response(
        records=audit_search(**filters),
        filename=f"audit-{stamp}.csv",
        filters=recorded,
        by=request.user,
        csv_format=csv_format_for_request(request),
    )


def preferences(request: HttpRequest) -> HttpResponse:
    """The user's own settings page: the language of their pages."""
    if request.method == "POST":
        form = PreferencesForm(request.POST)
        if form.is_valid():
            language = form.cleaned_data["language"]
            user_language_set(user=request.user, language=language)  # type: ignore[arg-type]
            translation.activate(language or get_language_from_request(request))
            messages.success(request, _("Your preferences are saved."))
            response = redirect("preferences")
            language_apply(request=request, response=response, language=language)
            return response
    else:
        form = PreferencesForm(initial={"language": user_language(user=request.user)})  # type: ignore[arg-type]
    return render(request, "whatsmassive/preferences.html", {"form": form})


@login_not_required
@require_POST
def language_switch(request: HttpRequest) -> HttpResponse:
    """The navigation's language buttons (and the login page's): back to the same page."""
    language = request.POST.get("language", "")
    if not language_is_known(language):
        return HttpResponseBadRequest()
    if request.user.is_authenticated:
        user_language_set(user=request.user, language=language)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(
        next_url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        next_url = reverse("dashboard")
    response = redirect(next_url)
    language_apply(request=request, response=response, language=language)
    return response
