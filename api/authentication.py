"""API keys in the `Authorization` header: `Bearer <key>` (or `Api-Key <key>`)."""

import datetime
from typing import Any, cast

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpRequest
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions
from rest_framework.request import Request

from whatsmassive.models import APIKey

SCHEMES = {"bearer", "api-key"}
# Recording every use would write a row per request; a minute's precision is enough.
LAST_USE_PRECISION = datetime.timedelta(minutes=1)


class APIKeyAuthentication(authentication.BaseAuthentication):
    """A valid key authenticates as its owner: `(key.user, key)`."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, APIKey] | None:
        header = request.headers.get("Authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() not in SCHEMES or not secret.strip():
            return None
        try:
            key = cast(APIKey, APIKey.objects.get_from_key(secret.strip()))
        except APIKey.DoesNotExist:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.") from None
        if key.has_expired or key.revoked:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        if not key.user.is_active:
            raise exceptions.AuthenticationFailed("The key's owner is deactivated.")
        now = timezone.now()
        if key.last_used_at is None or now - key.last_used_at > LAST_USE_PRECISION:
            APIKey.objects.filter(pk=key.pk).update(last_used_at=now)
        return key.user, key

    def authenticate_header(self, request: HttpRequest) -> str:
        return 'Bearer realm="api"'


# drf-spectacular registers extensions in an untyped __init_subclass__.
class APIKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call]
    """How the schema names the key: `Authorization: Bearer <key>`."""

    target_class = APIKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer"}
