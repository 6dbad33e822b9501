from django.contrib import admin
from django.http import HttpRequest

from whatsmassive.models import SystemLog


@admin.register(SystemLog)
class SystemLogAdmin(admin.ModelAdmin[SystemLog]):
    list_display = ["created_at", "level", "source", "short_message"]
    list_filter = ["level", "source"]
    search_fields = ["message", "source"]
    date_hierarchy = "created_at"
    readonly_fields = ["created_at", "level", "source", "message", "context"]
    list_per_page = 100

    @admin.display(description="message")
    def short_message(self, log: SystemLog) -> str:
        return log.message[:160]

    # Logs are a record of what happened: staff read and prune them, never edit them.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: SystemLog | None = None) -> bool:
        return False
