import csv
import datetime
import io
import itertools
import zoneinfo
from pathlib import Path

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    StreamingHttpResponse,
)
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from campaigns.policies import debtor_zones, zone_label
from debtors.exports import debtor_export_response, do_not_contact_export_response
from debtors.forms import (
    DebtorFilterForm,
    DebtorImportMappingForm,
    DebtorImportUploadForm,
    DebtorTimeZoneForm,
    DispositionForm,
    DoNotContactAddForm,
    DoNotContactImportForm,
    DoNotContactRemoveForm,
)
from debtors.imports.engine import ERROR_REPORT_HEADER
from debtors.imports.readers import ImportFileError
from debtors.imports.services import debtor_import_create, debtor_import_submit
from debtors.models import Debtor, DebtorImport, DoNotContact, OptOutSource
from debtors.registry import (
    ReasonRequired,
    do_not_contact_add,
    do_not_contact_import,
    do_not_contact_remove,
)
from debtors.selectors import (
    RejectedRow,
    debtor_dispositions,
    debtor_import_error_report_lines,
    debtor_import_list,
    debtor_import_preview,
    debtor_import_rejected_rows,
    debtor_import_with_progress,
    debtor_message_history,
    debtor_page,
    debtor_search,
    do_not_contact_page,
    do_not_contact_search,
    promises_broken_on,
)
from debtors.services import (
    debtor_disposition_record,
    debtor_opt_out,
    debtor_update,
    dispositions_mark_broken,
)
from whatsmassive import clock
from whatsmassive.exports import csv_format_for_request, csv_lines
from whatsmassive.htmx import HtmxHttpRequest, htmx_redirect


def _filtered_debtors(request: HttpRequest) -> tuple[DebtorFilterForm, QuerySet[Debtor]]:
    form = DebtorFilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    debtors = debtor_search(
        q=filters.get("q") or "",
        status=filters.get("status") or "",
        amount_min=filters.get("amount_min"),
        amount_max=filters.get("amount_max"),
        disposition=filters.get("disposition") or "",
    )
    return form, debtors


@permission_required("debtors.view_debtor", raise_exception=True)
def debtor_list(request: HtmxHttpRequest) -> HttpResponse:
    form, debtors = _filtered_debtors(request)
    page = debtor_page(debtors=debtors, cursor=request.GET.get("after", ""))
    query = request.GET.copy()
    query.pop("after", None)
    context = {"form": form, "page": page, "query": query.urlencode()}
    template = "debtors/debtor_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


def _dispositions_context(debtor: Debtor, form: DispositionForm | None = None) -> dict[str, object]:
    """What `debtors/_dispositions.html` needs: any page showing a debtor can include it."""
    return {
        "debtor": debtor,
        "dispositions": debtor_dispositions(debtor=debtor),
        "disposition_form": form or DispositionForm(),
    }


def _time_zone_context(debtor: Debtor, form: DebtorTimeZoneForm | None = None) -> dict[str, object]:
    """The debtor's own zone, or the one its phone gives (what the contact policy uses)."""
    phone_zones = debtor_zones(phone_e164=debtor.phone_e164, time_zone="")
    return {
        "debtor": debtor,
        "time_zone_form": form or DebtorTimeZoneForm(initial={"time_zone": debtor.time_zone}),
        "phone_zones": phone_zones,
        "phone_zone_label": zone_label(phone_zones),
        "time_zones": sorted(zoneinfo.available_timezones()),
    }


def _debtor_detail_page(
    request: HttpRequest, debtor: Debtor, form: DispositionForm | None = None
) -> HttpResponse:
    context = {
        **_time_zone_context(debtor),
        **_dispositions_context(debtor, form),
        "history": debtor_message_history(debtor=debtor),
        "today": timezone.localdate(),
    }
    return render(request, "debtors/debtor_detail.html", context)


@permission_required("debtors.view_debtor", raise_exception=True)
def debtor_detail(request: HttpRequest, pk: int) -> HttpResponse:
    debtor = get_object_or_404(Debtor.objects.select_related("current_disposition"), pk=pk)
    return _debtor_detail_page(request, debtor)


@permission_required("debtors.view_disposition", raise_exception=True)
def debtor_disposition_list(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """The dispositions fragment: GET shows it, POST records one and answers with it again.

    Without htmx a recorded disposition redirects to the debtor's page, and a refused one
    shows that page with the form's errors.
    """
    debtor = get_object_or_404(Debtor.objects.select_related("current_disposition"), pk=pk)
    form = DispositionForm(request.POST or None)
    recorded = False
    if request.method == "POST" and form.is_valid():
        try:
            disposition = debtor_disposition_record(
                debtor=debtor,
                kind=form.cleaned_data["kind"],
                amount=form.cleaned_data["amount"],
                date=form.cleaned_data["date"],
                note=form.cleaned_data["note"],
                by=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            recorded = True
            if not request.htmx:
                messages.success(
                    request, _("%(kind)s recorded.") % {"kind": disposition.get_kind_display()}
                )
                return redirect("debtor_detail", pk=debtor.pk)
            debtor.refresh_from_db()
            form = DispositionForm()
    if request.method == "POST" and not recorded and not request.htmx:
        return _debtor_detail_page(request, debtor, form)
    response = render(request, "debtors/_dispositions.html", _dispositions_context(debtor, form))
    if recorded:
        # The page around the fragment (the debtor's status) follows.
        trigger_client_event(response, "disposition-recorded")
    return response


def _day_param(value: str) -> datetime.date:
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return clock.today()


@permission_required("debtors.view_disposition", raise_exception=True)
def promise_broken_list(request: HttpRequest) -> HttpResponse:
    """The day's broken promises (default today): who to call about a missed payment."""
    day = _day_param(request.GET.get("day", ""))
    one_day = datetime.timedelta(days=1)
    context = {
        "day": day,
        "promises": promises_broken_on(day=day),
        "previous_day": day - one_day,
        "next_day": day + one_day if day < clock.today() else None,
        "is_today": day == clock.today(),
    }
    return render(request, "debtors/broken_promises.html", context)


@require_POST
def promise_broken_check(request: HttpRequest) -> HttpResponse:
    """Look for broken promises now instead of waiting for the night's run."""
    broken = dispositions_mark_broken(by=request.user)
    if broken:
        messages.success(request, _("%(count)s more promise(s) found broken.") % {"count": broken})
    else:
        messages.info(request, _("No other promise has broken."))
    return redirect("promise_broken_list")


@require_POST
def debtor_detail_opt_out(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    debtor = get_object_or_404(Debtor, pk=pk)
    debtor_opt_out(
        debtors=Debtor.objects.filter(pk=debtor.pk),
        at=timezone.now(),
        source=OptOutSource.OPERATOR,
        by=request.user,
    )
    if request.htmx:
        debtor.refresh_from_db()
        return render(request, "debtors/debtor_detail.html#standing", {"debtor": debtor})
    messages.success(
        request, _("%(name)s opted out: no more messages will be sent.") % {"name": debtor.name}
    )
    return redirect("debtor_detail", pk=debtor.pk)


@require_POST
@permission_required("debtors.change_debtor", raise_exception=True)
def debtor_time_zone(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """Set or clear the debtor's time zone; the contact policy reads it from the next start."""
    debtor = get_object_or_404(Debtor, pk=pk)
    form = DebtorTimeZoneForm(request.POST)
    if form.is_valid():
        debtor = debtor_update(
            debtor=debtor, changes={"time_zone": form.cleaned_data["time_zone"]}, by=request.user
        )
        if not request.htmx:
            messages.success(request, _("Time zone saved."))
            return redirect("debtor_detail", pk=debtor.pk)
    elif not request.htmx:
        messages.error(request, " ".join(map(str, form.errors["time_zone"])))
        return redirect("debtor_detail", pk=debtor.pk)
    context = _time_zone_context(debtor, form if form.errors else None)
    return render(request, "debtors/debtor_detail.html#time_zone", context)


@require_POST
def debtor_bulk_opt_out(request: HtmxHttpRequest) -> HttpResponse:
    ids = [int(value) for value in request.POST.getlist("ids") if value.isdigit()]
    if ids:
        changed = debtor_opt_out(
            debtors=Debtor.objects.filter(pk__in=ids),
            at=timezone.now(),
            source=OptOutSource.OPERATOR,
            by=request.user,
        )
        messages.success(request, _("%(count)s debtor(s) opted out.") % {"count": changed})
    else:
        messages.error(request, _("Select at least one debtor to opt out."))
    back = reverse("debtor_list")
    if request.POST.get("query"):
        back += "?" + request.POST["query"]
    return htmx_redirect(request, back)


def debtor_export(request: HttpRequest, fmt: str) -> HttpResponseBase:
    if fmt not in {"csv", "xlsx"}:
        raise Http404
    form, debtors = _filtered_debtors(request)
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return debtor_export_response(
        debtors=debtors,
        fmt=fmt,
        filename=f"debtors-{stamp}.{fmt}",
        filters={key: value for key, value in form.cleaned_data.items() if value not in ("", None)}
        if form.is_valid()
        else {},
        by=request.user,
        csv_format=csv_format_for_request(request),
    )


def _get_import_for_user(request: HttpRequest, pk: int) -> DebtorImport:
    return get_object_or_404(debtor_import_list(user=request.user), pk=pk)


# Rows of a registry import's error report shown on its result page.
REJECTED_SHOWN = 100
# Room for the multipart envelope and the other form fields around the file.
UPLOAD_OVERHEAD_BYTES = 64 * 1024


@permission_required("debtors.add_debtorimport", raise_exception=True)
def debtor_import_new(request: HttpRequest) -> HttpResponse:
    declared = request.META.get("CONTENT_LENGTH") or "0"
    if (
        request.method == "POST"
        and declared.isdigit()
        and int(declared) > settings.IMPORT_MAX_BYTES + UPLOAD_OVERHEAD_BYTES
    ):
        # Refused before Django spools the body to disk: the form never sees it.
        messages.error(
            request,
            _("The file is larger than the %(limit)s limit.")
            % {"limit": filesizeformat(settings.IMPORT_MAX_BYTES)},
        )
        return redirect("debtor_import_new")
    form = DebtorImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            debtor_import = debtor_import_create(
                upload=form.cleaned_data["file"],
                region=form.cleaned_data["region"],
                update_existing=form.cleaned_data["update_existing"],
                by=request.user,
            )
        except ImportFileError as exc:
            form.add_error("file", str(exc))
        else:
            return redirect("debtor_import_detail", pk=debtor_import.pk)
    recent = debtor_import_list(user=request.user)[:10]
    context = {
        "form": form,
        "recent": recent,
        "max_mb": settings.IMPORT_MAX_BYTES // (1024 * 1024),
        "max_rows": settings.IMPORT_MAX_ROWS,
    }
    return render(request, "debtors/import_new.html", context)


def _import_progress_context(debtor_import: DebtorImport) -> dict[str, object]:
    return {
        "debtor_import": debtor_import_with_progress(debtor_import=debtor_import),
        "rejected": debtor_import_rejected_rows(debtor_import=debtor_import),
    }


@permission_required("debtors.view_debtorimport", raise_exception=True)
def debtor_import_detail(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    """One page for every step after the upload: preparing, mapping, progress and result."""
    debtor_import = _get_import_for_user(request, pk)
    template = "debtors/import_detail.html"
    if debtor_import.shows_progress:
        context = _import_progress_context(debtor_import)
        return render(request, template + "#progress" if request.htmx else template, context)
    preview = debtor_import_preview(debtor_import=debtor_import)
    if preview is None:
        context = {"debtor_import": debtor_import}
        return render(request, template + "#preparing" if request.htmx else template, context)
    form = DebtorImportMappingForm(
        mapping=preview.mapping, initial={"update_existing": debtor_import.update_existing}
    )
    context = {"debtor_import": debtor_import, "form": form, "preview": preview}
    return render(request, template + "#mapping" if request.htmx else template, context)


@require_POST
def debtor_import_start(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    debtor_import = _get_import_for_user(request, pk)
    preview = debtor_import_preview(debtor_import=debtor_import)
    if debtor_import.submitted_at is None and preview is None:
        # Still preparing: back to the page, which shows that state.
        return htmx_redirect(request, reverse("debtor_import_detail", args=[debtor_import.pk]))
    if debtor_import.submitted_at is None and preview is not None:
        form = DebtorImportMappingForm(request.POST, mapping=preview.mapping)
        if not form.is_valid():
            context = {"debtor_import": debtor_import, "form": form, "preview": preview}
            template = "debtors/import_detail.html"
            return render(request, template + "#mapping" if request.htmx else template, context)
        debtor_import_submit(
            debtor_import=debtor_import,
            mapping=form.mapping(),
            update_existing=form.cleaned_data["update_existing"],
            by=request.user,
            language=translation.get_language() or settings.LANGUAGE_CODE,
        )
    if request.htmx:
        debtor_import.refresh_from_db()
        return render(
            request, "debtors/import_detail.html#progress", _import_progress_context(debtor_import)
        )
    return redirect("debtor_import_detail", pk=debtor_import.pk)


@permission_required("debtors.view_debtorimport", raise_exception=True)
def debtor_import_errors(request: HttpRequest, pk: int) -> StreamingHttpResponse:
    """The error report as the operator's spreadsheet opens it: `;` and a BOM where their
    locale writes decimals with a comma (or as they chose), the header in their language."""
    debtor_import = _get_import_for_user(request, pk)
    if not debtor_import.error_report:
        raise Http404("This import has no error report.")
    lines = debtor_import_error_report_lines(debtor_import=debtor_import)
    next(lines, None)  # the header the run wrote, in the language of whoever started it
    name = Path(debtor_import.original_filename).stem or "import"
    response = StreamingHttpResponse(
        csv_lines(ERROR_REPORT_HEADER, lines, csv_format_for_request(request)),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=f"{name}-errors.csv"
    )
    return response


def _registry_context(request: HttpRequest, form: DoNotContactAddForm) -> dict[str, object]:
    q = request.GET.get("q", "")
    before = request.GET.get("before", "")
    page = do_not_contact_page(
        entries=do_not_contact_search(q=q), before=int(before) if before.isdigit() else None
    )
    return {"q": q, "page": page, "add_form": form}


@permission_required("debtors.view_donotcontact", raise_exception=True)
def do_not_contact_list(request: HtmxHttpRequest) -> HttpResponse:
    context = _registry_context(request, DoNotContactAddForm())
    template = "debtors/do_not_contact_list.html"
    if request.htmx and not request.htmx.boosted:
        template += "#results"
    return render(request, template, context)


@require_POST
@permission_required("debtors.view_donotcontact", raise_exception=True)
def do_not_contact_new(request: HtmxHttpRequest) -> HttpResponse:
    form = DoNotContactAddForm(request.POST)
    if not form.is_valid():
        template = "debtors/do_not_contact_list.html"
        context = _registry_context(request, form)
        return render(request, template + "#add" if request.htmx else template, context)
    phone = form.cleaned_data["phone"]
    if do_not_contact_add(phone_e164=phone, reason=form.cleaned_data["reason"], by=request.user):
        messages.success(
            request,
            _("%(phone)s is on the do-not-contact registry: no more messages.") % {"phone": phone},
        )
    else:
        messages.info(
            request, _("%(phone)s was already on the do-not-contact registry.") % {"phone": phone}
        )
    return htmx_redirect(request, reverse("do_not_contact_list"))


@permission_required("debtors.restore_contact", raise_exception=True)
def do_not_contact_remove_view(request: HtmxHttpRequest, pk: int) -> HttpResponse:
    entry = get_object_or_404(DoNotContact, pk=pk)
    form = DoNotContactRemoveForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            do_not_contact_remove(entry=entry, reason=form.cleaned_data["reason"], by=request.user)
        except ReasonRequired as exc:
            form.add_error("reason", str(exc))
        else:
            messages.success(
                request,
                _("%(phone)s was removed from the do-not-contact registry.")
                % {"phone": entry.phone_e164},
            )
            return htmx_redirect(request, reverse("do_not_contact_list"))
    return render(request, "debtors/do_not_contact_remove.html", {"entry": entry, "form": form})


@permission_required("debtors.opt_out_debtor", raise_exception=True)
def do_not_contact_import_view(request: HttpRequest) -> HttpResponse:
    form = DoNotContactImportForm(request.POST or None, request.FILES or None)
    result = None
    if request.method == "POST" and form.is_valid():
        try:
            result = do_not_contact_import(
                upload=form.cleaned_data["file"],
                region=form.cleaned_data["region"],
                by=request.user,
            )
        except ImportFileError as exc:
            form.add_error("file", str(exc))
    # By position: the report's header is in the operator's language.
    lines = csv.reader(io.StringIO(result.error_report if result else ""))
    rejected = [
        RejectedRow(*line)
        for line in itertools.islice(lines, 1, REJECTED_SHOWN + 1)
        if len(line) == len(ERROR_REPORT_HEADER)
    ]
    context = {
        "form": form,
        "result": result,
        "rejected": rejected,
        "rejected_shown": REJECTED_SHOWN,
        "max_mb": settings.IMPORT_MAX_BYTES // (1024 * 1024),
    }
    return render(request, "debtors/do_not_contact_import.html", context)


def do_not_contact_export(request: HttpRequest) -> HttpResponseBase:
    q = request.GET.get("q", "")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    return do_not_contact_export_response(
        entries=do_not_contact_search(q=q),
        filename=f"do-not-contact-{stamp}.csv",
        filters={"q": q} if q else {},
        by=request.user,
        csv_format=csv_format_for_request(request),
    )
