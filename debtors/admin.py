from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from debtors.imports.services import debtor_import_delete
from debtors.models import Debtor, DebtorImport, Disposition, DoNotContact, OptOutSource, StopWord
from debtors.selectors import debtor_search_filter
from debtors.services import debtor_opt_out
from whatsmassive.roles import require


class DispositionInline(admin.TabularInline[Disposition, Debtor]):
    """Shown, never edited here: a disposition skips messages and changes the debtor's
    status, which only `debtor_disposition_record` does."""

    model = Disposition
    fields = ("at", "kind", "amount", "date", "broken_on", "note", "by")
    readonly_fields = fields
    extra = 0
    can_delete = False
    ordering = ["-at", "-id"]

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Debtor)
class DebtorAdmin(admin.ModelAdmin[Debtor]):
    list_display = [
        "name",
        "phone_e164",
        "amount",
        "currency",
        "due_date",
        "reference",
        "status",
        "opted_out",
    ]
    list_filter = ["status", "opted_out", "currency", "due_date"]
    # Searched as on the debtor list (accents, case, phone forms), not field by field.
    search_fields = ["name"]
    date_hierarchy = "due_date"
    readonly_fields = ["status", "opted_out", "opted_out_at", "created_at", "updated_at"]
    list_per_page = 100
    # Counting a million rows on every page load is slow and staff do not need the exact total.
    show_full_result_count = False
    actions = ["opt_out"]
    inlines = [DispositionInline]

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Debtor], search_term: str
    ) -> tuple[QuerySet[Debtor], bool]:
        return debtor_search_filter(queryset, search_term), False

    @admin.action(description=_("Opt out selected debtors (no more messages)"))
    def opt_out(self, request: HttpRequest, queryset: QuerySet[Debtor]) -> None:
        require(request.user, "debtors.opt_out_debtor")
        changed = debtor_opt_out(
            debtors=queryset, at=timezone.now(), source=OptOutSource.OPERATOR, by=request.user
        )
        self.message_user(
            request,
            gettext("%(count)s debtor(s) opted out.") % {"count": changed},
            messages.SUCCESS,
        )


@admin.register(DebtorImport)
class DebtorImportAdmin(admin.ModelAdmin[DebtorImport]):
    """Import history: read-only, imports are started from the import wizard."""

    list_display = [
        "original_filename",
        "status",
        "rows_read",
        "imported",
        "updated",
        "duplicates",
        "invalid",
        "error_report_link",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "format"]
    search_fields = ["original_filename"]
    list_select_related = ["created_by"]
    exclude = ["file", "error_report"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: DebtorImport) -> None:
        debtor_import_delete(debtor_imports=DebtorImport.objects.filter(pk=obj.pk))

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[DebtorImport]) -> None:
        debtor_import_delete(debtor_imports=queryset)

    @admin.display(description=_("error report"))
    def error_report_link(self, obj: DebtorImport) -> str:
        if not obj.error_report:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("debtor_import_errors", args=[obj.pk]),
            gettext("download"),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: object = None) -> list[str]:
        return [
            *(field.name for field in DebtorImport._meta.fields if field.name not in self.exclude),
            "error_report_link",
        ]


@admin.register(StopWord)
class StopWordAdmin(admin.ModelAdmin[StopWord]):
    """The words that opt a debtor out when they reply with them; a change counts at once."""

    list_display = ["phrase", "language", "match", "enabled", "updated_at"]
    list_filter = ["language", "match", "enabled"]
    list_editable = ["match", "enabled"]
    search_fields = ["phrase"]


@admin.register(DoNotContact)
class DoNotContactAdmin(admin.ModelAdmin[DoNotContact]):
    """Read-only: phones go on the registry by opting out, and come off it from the console
    (a Supervisor, with a reason, recorded in the audit trail)."""

    list_display = ["phone_e164", "reason", "source", "added_at", "added_by"]
    list_filter = ["source"]
    search_fields = ["=phone_e164", "reason"]
    list_select_related = ["added_by"]
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
