from django.contrib import admin
from django.http import HttpRequest

from api.models import IdempotentRequest


@admin.register(IdempotentRequest)
class IdempotentRequestAdmin(admin.ModelAdmin[IdempotentRequest]):
    list_display = ["key", "user", "response_status", "created_at"]
    search_fields = ["key"]
    readonly_fields = ["user", "key", "request_hash", "response_status", "response_body"]

    # Answers are stored by the API, in the transaction of the request they answer.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
