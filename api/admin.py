from django.contrib import admin

from api.models import IdempotentRequest


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(admin.ModelAdmin[IdempotentRequest]):
    list_display = ["key", "user", "response_status", "created_at"]
    search_fields = ["key"]
    readonly_fields = ["user", "key", "request_hash", "response_status", "response_body"]
