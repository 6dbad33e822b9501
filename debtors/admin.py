from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from debtors.models import Debtor
from debtors.services import debtor_opt_out


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
    search_fields = ["name", "=phone_e164", "=reference"]
    date_hierarchy = "due_date"
    readonly_fields = ["status", "opted_out_at", "created_at", "updated_at"]
    list_per_page = 100
    # Counting a million rows on every page load is slow and staff do not need the exact total.
    show_full_result_count = False
    actions = ["opt_out"]

    @admin.action(description="Opt out selected debtors (no more messages)")
    def opt_out(self, request: HttpRequest, queryset: QuerySet[Debtor]) -> None:
        changed = debtor_opt_out(debtors=queryset)
        self.message_user(request, f"{changed} debtor(s) opted out.", messages.SUCCESS)
