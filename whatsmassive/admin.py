from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.admin import APIKeyModelAdmin
from rest_framework_api_key.models import APIKey as PackageAPIKey

from whatsmassive.models import APIKey, SystemLog


@admin.register(SystemLog)
class SystemLogAdmin(admin.ModelAdmin[SystemLog]):
    list_display = ["created_at", "level", "source", "short_message"]
    list_filter = ["level", "source"]
    search_fields = ["message", "source"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "level", "source", "message", "context"]
    list_per_page = 100

    @admin.display(description=_("message"))
    def short_message(self, log: SystemLog) -> str:
        return log.message[:160]

    # Logs are a record of what happened: staff read and prune them, never edit them.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SystemLog | None = None) -> bool:
        return False


# The package's own key model is unused: keys are whatsmassive.APIKey (owner and scope).
admin.site.unregister(PackageAPIKey)


@admin.register(APIKey)
class APIKeyAdmin(APIKeyModelAdmin):
    """The package's admin (it shows a new key once, after saving), with owner and scope."""

    # The package annotates these as fixed-length tuples of its own columns.
    list_display = (*APIKeyModelAdmin.list_display, "user", "scope", "last_used_at")  # type: ignore[assignment]
    list_filter = (*APIKeyModelAdmin.list_filter, "scope")  # type: ignore[assignment]
