"""The operator's webhook pages: endpoints, their deliveries, Replay (under /settings/)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint
from webhooks.services import delivery_replay, endpoint_create, endpoint_delete

PERMISSION = "whatsmassive.manage_integrations"
DELIVERIES_SHOWN = 100


def _require(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def webhook_list(request: HttpRequest) -> HttpResponse:
    _require(request)
    context: dict[str, object] = {"event_types": EventType.choices}
    if request.method == "POST":
        try:
            batch_size = int(request.POST.get("batch_size") or 1)
            context["created"] = endpoint_create(
                url=request.POST.get("url", "").strip(),
                event_types=request.POST.getlist("event_types"),
                batch_size=batch_size,
                description=request.POST.get("description", "").strip()[:200],
                by=request.user,
            )
        except ValueError:
            context["errors"] = ["The batch size is a whole number from 1 to 100."]
        except ValidationError as exc:
            context["errors"] = exc.messages
    context["endpoints"] = WebhookEndpoint.objects.order_by("id")
    return render(request, "webhooks/webhook_list.html", context)


def webhook_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require(request)
    endpoint = get_object_or_404(WebhookEndpoint, pk=pk)
    if request.method == "POST":
        endpoint_delete(endpoint=endpoint)
        return redirect("webhook_list")
    deliveries = endpoint.deliveries.defer("body").order_by("-id")[:DELIVERIES_SHOWN]
    return render(
        request, "webhooks/webhook_detail.html", {"endpoint": endpoint, "deliveries": deliveries}
    )


@require_POST
def webhook_replay(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    _require(request)
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_pk, endpoint_id=pk)
    delivery_replay(delivery=delivery)
    return redirect("webhook_detail", pk=pk)
