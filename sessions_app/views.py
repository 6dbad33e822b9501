from collections.abc import Callable, Iterable, Mapping
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from sessions_app import selectors, services
from sessions_app.forms import (
    PoolForm,
    PoolMemberAddForm,
    PoolMemberMoveForm,
    PoolMemberUpdateForm,
    SessionCreateForm,
    SessionPacingForm,
)
from sessions_app.models import STRATEGY_HELP, Pool, PoolMember, PoolStrategy, WhatsAppSession
from sessions_app.qr import qr_png, qr_svg
from whatsmassive import clock
from whatsmassive.htmx import HtmxHttpRequest, htmx_redirect
from whatsmassive.roles import Actor

VIEW_ACCOUNTS = "sessions_app.view_whatsappsession"
VIEW_POOLS = "sessions_app.view_pool"
SESSION_LIST = "sessions_app/session_list.html"
SESSION_DETAIL = "sessions_app/session_detail.html"
POOL_LIST = "sessions_app/pool_list.html"
POOL_DETAIL = "sessions_app/pool_detail.html"


# --- accounts ----------------------------------------------------------------------------


@permission_required(VIEW_ACCOUNTS, raise_exception=True)
def session_list(request: HtmxHttpRequest) -> HttpResponse:
    context = {"rows": selectors.session_list_contexts(), "form": SessionCreateForm()}
    template = SESSION_LIST
    if request.htmx and not request.htmx.boosted:
        template += "#rows"
    return render(request, template, context)


@require_POST
def session_add(request: HtmxHttpRequest) -> HttpResponse:
    form = SessionCreateForm(request.POST)
    if form.is_valid():
        try:
            session = services.session_create(name=form.cleaned_data["name"], by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return htmx_redirect(request, reverse("session_detail", args=[session.pk]))
    if request.htmx:
        return render(request, SESSION_LIST + "#add_form", {"form": form})
    return render(request, SESSION_LIST, {"rows": selectors.session_list_contexts(), "form": form})


def _session_page_context(
    session: WhatsAppSession, pacing_form: SessionPacingForm
) -> dict[str, Any]:
    return {
        **selectors.session_live_context(session=session),
        "pacing_form": pacing_form,
        "time_zones": selectors.time_zone_names(),
        "memberships": selectors.session_memberships(session=session),
        "recent_messages": selectors.session_recent_messages(session=session),
        "new_chats": selectors.session_new_chats(session=session, now=clock.now()),
        "warm_up_steps": selectors.warm_up_steps(),
        "health_parts": selectors.session_health_parts(session=session),
        "health_slow_below": settings.WHATSAPP_HEALTH_SLOW_BELOW,
        "health_pause_below": settings.WHATSAPP_HEALTH_PAUSE_BELOW,
    }


@permission_required(VIEW_ACCOUNTS, raise_exception=True)
def session_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(WhatsAppSession, pk=pk)
    context = _session_page_context(session, SessionPacingForm.for_session(session))
    return render(request, SESSION_DETAIL, context)


@permission_required(VIEW_ACCOUNTS, raise_exception=True)
def session_live(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The live state fragment of the account page, for its re-fetch and its polling."""
    session = get_object_or_404(WhatsAppSession, pk=pk)
    return render(
        request, SESSION_DETAIL + "#session_live", selectors.session_live_context(session=session)
    )


@permission_required(VIEW_ACCOUNTS, raise_exception=True)
def session_row(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The account's row of the accounts list."""
    session = get_object_or_404(WhatsAppSession, pk=pk)
    return render(
        request, SESSION_LIST + "#session_row", selectors.session_live_context(session=session)
    )


def _session_action(
    request: HtmxHttpRequest, pk: int, action: Callable[..., WhatsAppSession | None]
) -> HttpResponse:
    """Run an account action; answer with the fragment it was asked from, or go back there.

    An action returns the account as it left it, or None when it changed nothing stored.
    """
    session = get_object_or_404(WhatsAppSession, pk=pk)
    refusal = ""
    try:
        session = action(session=session, by=request.user) or session
    except ValueError as exc:
        refusal = str(exc)
    except ValidationError as exc:
        refusal = " ".join(exc.messages)
    from_list = request.POST.get("from") == "list"
    if request.htmx:
        context = {**selectors.session_live_context(session=session), "refusal": refusal}
        fragment = "#session_row" if from_list else "#session_live"
        template = (SESSION_LIST if from_list else SESSION_DETAIL) + fragment
        return render(request, template, context)
    if refusal:
        messages.error(request, refusal)
    return redirect("session_list" if from_list else "session_detail", *([] if from_list else [pk]))


@require_POST
def session_connect(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _session_action(request, pk, services.session_connect)


@require_POST
def session_disconnect(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _session_action(request, pk, services.session_disconnect)


@require_POST
def session_logout(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _session_action(request, pk, services.session_logout)


@require_POST
def session_simulate_scan(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    return _session_action(request, pk, services.session_simulate_scan)


@require_POST
def session_use_here(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The account is open in another window: bring it back to this one."""
    return _session_action(request, pk, services.session_request_takeover)


@require_POST
def session_pairing_code(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Link by phone number: the operator typed the account's number."""
    phone = request.POST.get("phone", "")

    def request_code(*, session: WhatsAppSession, by: Actor) -> WhatsAppSession:
        return services.session_request_pairing_code(session=session, phone=phone, by=by)

    return _session_action(request, pk, request_code)


@require_POST
def session_pacing(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    session = get_object_or_404(WhatsAppSession, pk=pk)
    form = SessionPacingForm(request.POST)
    saved = False
    if form.is_valid():
        try:
            session = services.session_update_pacing(
                session=session, **form.cleaned_data, by=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            saved = True
    if request.htmx:
        context = {
            "session": session,
            "pacing_form": SessionPacingForm.for_session(session) if saved else form,
            "saved": saved,
        }
        return render(request, SESSION_DETAIL + "#pacing", context)
    if saved:
        messages.success(request, _("Pacing saved: it applies from the next message on."))
        return redirect("session_detail", pk)
    return render(request, SESSION_DETAIL, _session_page_context(session, form))


@never_cache
@permission_required("sessions_app.manage_accounts", raise_exception=True)
def session_qr(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The account's current login QR (PNG or SVG); 404 once it is linked.

    Whoever scans it links their phone to the account: only those who manage accounts see it.
    """
    session = get_object_or_404(WhatsAppSession, pk=pk)
    if not session.qr_payload:
        raise Http404(_("No QR code is waiting to be scanned for this account."))
    if fmt == "svg":
        return HttpResponse(qr_svg(session.qr_payload), content_type="image/svg+xml")
    return HttpResponse(qr_png(session.qr_payload), content_type="image/png")


# --- pools -------------------------------------------------------------------------------


@permission_required(VIEW_POOLS, raise_exception=True)
def pool_list(request: HtmxHttpRequest) -> HttpResponse:
    return render(
        request, POOL_LIST, {"pools": selectors.pool_list(), "strategy_help": STRATEGY_HELP}
    )


def _pool_form_response(
    request: HtmxHttpRequest, form: PoolForm, pool: Pool | None, *, saved: bool = False
) -> HttpResponse:
    context: dict[str, Any] = {"form": form, "pool": pool, "saved": saved}
    if request.htmx:
        return render(request, POOL_DETAIL + "#pool_form", context)
    if pool is not None:
        context.update(_pool_members_context(pool))
        context["campaigns"] = selectors.pool_campaigns(pool=pool)
    return render(request, POOL_DETAIL, context)


@permission_required("sessions_app.manage_pools", raise_exception=True)
def pool_new(request: HtmxHttpRequest) -> HttpResponse:
    form = PoolForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            pool = services.pool_create(**form.cleaned_data, by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request, _("Pool “%(name)s” created: now add its accounts.") % {"name": pool.name}
            )
            return htmx_redirect(request, reverse("pool_detail", args=[pool.pk]))
    return _pool_form_response(request, form, None)


def _pool_initial(pool: Pool) -> dict[str, str]:
    return {"name": pool.name, "description": pool.description, "strategy": pool.strategy}


@permission_required(VIEW_POOLS, raise_exception=True)
def pool_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    pool = get_object_or_404(Pool, pk=pk)
    if request.method != "POST":
        return _pool_form_response(request, PoolForm(initial=_pool_initial(pool)), pool)
    form = PoolForm(request.POST)
    if form.is_valid():
        try:
            pool = services.pool_update(pool=pool, **form.cleaned_data, by=request.user)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if not request.htmx:
                messages.success(request, _("Pool saved."))
                return redirect("pool_detail", pool.pk)
            return _pool_form_response(
                request, PoolForm(initial=_pool_initial(pool)), pool, saved=True
            )
    return _pool_form_response(request, form, pool)


@require_POST
def pool_delete(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    pool = get_object_or_404(Pool, pk=pk)
    try:
        services.pool_delete(pool=pool, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return htmx_redirect(request, reverse("pool_detail", args=[pk]))
    messages.success(request, _("Pool “%(name)s” deleted.") % {"name": pool.name})
    return htmx_redirect(request, reverse("pool_list"))


def _pool_members_context(
    pool: Pool, *, add_form: PoolMemberAddForm | None = None, errors: list[str] | None = None
) -> dict[str, Any]:
    available = selectors.pool_available_sessions(pool=pool)
    return {
        "pool": pool,
        "members": selectors.pool_members(pool=pool),
        "add_form": add_form or PoolMemberAddForm(accounts=available),
        "member_errors": errors or [],
        "weights_apply": pool.strategy == PoolStrategy.RANDOM_TURNS,
    }


def _members_response(
    request: HtmxHttpRequest,
    pool: Pool,
    *,
    add_form: PoolMemberAddForm | None = None,
    errors: list[str] | None = None,
) -> HttpResponse:
    if request.htmx:
        context = _pool_members_context(pool, add_form=add_form, errors=errors)
        return render(request, POOL_DETAIL + "#members", context)
    lines = list(errors or [])
    if add_form is not None:
        lines += [str(error) for field in add_form.errors.values() for error in field]
    for line in lines:
        messages.error(request, line)
    return redirect("pool_detail", pool.pk)


@permission_required(VIEW_POOLS, raise_exception=True)
def pool_members(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    pool = get_object_or_404(Pool, pk=pk)
    return render(request, POOL_DETAIL + "#members", _pool_members_context(pool))


@require_POST
def pool_member_add(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    pool = get_object_or_404(Pool, pk=pk)
    form = PoolMemberAddForm(request.POST, accounts=selectors.pool_available_sessions(pool=pool))
    if form.is_valid():
        try:
            services.pool_member_add(
                pool=pool, session=form.cleaned_data["session"], by=request.user
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return _members_response(request, pool)
    return _members_response(request, pool, add_form=form)


def _get_member(pk: int, member_pk: int) -> PoolMember:
    return get_object_or_404(
        PoolMember.objects.select_related("pool", "session"), pk=member_pk, pool_id=pk
    )


def _error_lines(member: PoolMember, form_errors: Mapping[str, Iterable[object]]) -> list[str]:
    return [
        f"{member.session.name}: {error}" for errors in form_errors.values() for error in errors
    ]


@require_POST
def pool_member_update(request: HtmxHttpRequest, pk: int, member_pk: int) -> HttpResponse:
    member = _get_member(pk, member_pk)
    form = PoolMemberUpdateForm(request.POST)
    errors: list[str] = []
    if form.is_valid():
        try:
            services.pool_member_update(member=member, **form.cleaned_data, by=request.user)
        except ValidationError as exc:
            errors = _error_lines(member, exc.message_dict)
    else:
        errors = _error_lines(member, form.errors)
    return _members_response(request, member.pool, errors=errors)


@require_POST
def pool_member_move(request: HtmxHttpRequest, pk: int, member_pk: int) -> HttpResponse:
    member = _get_member(pk, member_pk)
    form = PoolMemberMoveForm(request.POST)
    errors: list[str] = []
    if form.is_valid():
        try:
            services.pool_member_move(
                member=member, position=form.cleaned_data["position"], by=request.user
            )
        except ValidationError as exc:
            errors = exc.messages
    else:
        errors = _error_lines(member, form.errors)
    return _members_response(request, member.pool, errors=errors)


@require_POST
def pool_member_remove(request: HtmxHttpRequest, pk: int, member_pk: int) -> HttpResponse:
    member = _get_member(pk, member_pk)
    services.pool_member_remove(member=member, by=request.user)
    return _members_response(request, member.pool)
