from typing import Any

from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from whatsmassive.models import APIKey


class KeyRateThrottle(SimpleRateThrottle):
    """Requests per API key (or per user for browser sessions), counted in Redis."""

    scope = "key"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if isinstance(request.auth, APIKey):
            ident = f"key-{request.auth.pk}"
        elif request.user and request.user.is_authenticated:
            ident = f"user-{request.user.pk}"
        else:
            ident = f"ip-{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
