from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import delivery_replay, endpoint_delete, endpoint_enable


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin[WebhookEndpoint]):
    list_display = [
        "url",
        "enabled",
        "disabled_reason",
        "failing_since",
        "batch_size",
        "created_at",
    ]
    list_filter = ["enabled"]
    readonly_fields = ["enabled", "disabled_reason", "failing_since", "created_by", "created_at"]
    actions = ["enable"]

    # Endpoints are registered through the API or its page (the URL is checked and the
    # secret shown once there); staff inspect, enable and delete them here.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    # Through the service: it takes the outbox along in step with the delivery worker.
    def delete_model(self, request: HttpRequest, obj: WebhookEndpoint) -> None:
        endpoint_delete(endpoint=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            endpoint_delete(endpoint=endpoint)

    @admin.action(description="Enable again (after fixing the receiver)")
    def enable(self, request: HttpRequest, queryset: QuerySet[WebhookEndpoint]) -> None:
        for endpoint in queryset:
            endpoint_enable(endpoint=endpoint)
        self.message_user(request, f"{queryset.count()} endpoint(s) enabled.")


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin[WebhookDelivery]):
    list_display = [
        "webhook_id",
        "endpoint",
        "status",
        "event_count",
        "attempts",
        "response_status",
        "last_attempt_at",
        "next_attempt_at",
    ]
    list_filter = ["status", "endpoint"]
    search_fields = ["webhook_id"]
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["replay"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[WebhookDelivery]:
        # The body (up to a hundred events) is read where it is shown: on the change page.
        return super().get_queryset(request).defer("body")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Replay (send again with the same webhook-id)")
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookDelivery]) -> None:
        for delivery in queryset:
            delivery_replay(delivery=delivery)
        self.message_user(request, f"{queryset.count()} delivery(ies) queued again.")
