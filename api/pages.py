"""The operator's settings page for API keys (URLs under /settings/)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.views.decorators.http import require_POST

from api.services import api_key_create, api_key_revoke
from whatsmassive.models import APIKey, APIKeyScope

PERMISSION = "whatsmassive.manage_integrations"


def _require(request: HttpRequest) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied


def api_keys(request: HttpRequest) -> HttpResponse:
    _require(request)
    context: dict[str, object] = {"scopes": APIKeyScope.choices}
    if request.method == "POST":
        try:
            key, secret = api_key_create(
                user=request.user,  # type: ignore[arg-type]
                name=request.POST.get("name", ""),
                scope=request.POST.get("scope", ""),
            )
            context["created"] = {"key": key, "secret": secret}
        except ValidationError as exc:
            context["errors"] = exc.messages
    context["keys"] = APIKey.objects.select_related("user").order_by("-created")
    return render(request, "api/api_keys.html", context)


@require_POST
def api_key_revoke_view(request: HttpRequest, pk: str) -> HttpResponse:
    _require(request)
    api_key_revoke(key=get_object_or_404(APIKey, pk=pk))
    return redirect("api_keys")


urlpatterns = [
    path("api-keys/", api_keys, name="api_keys"),
    path("api-keys/<str:pk>/revoke/", api_key_revoke_view, name="api_key_revoke"),
]
