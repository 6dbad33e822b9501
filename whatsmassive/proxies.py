"""What the reverse proxies in front of the app may tell it, and nothing more."""

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: `REMOTE_ADDR`, or the X-Forwarded-For entry our proxies vouch for.

    Each trusted proxy appends the address it was reached from, so with N of them the client
    is the N-th entry from the right; anything left of it was written by the client and may
    be made up. With no trusted proxy (the default) the header is ignored altogether.
    """
    remote: str | None = request.META.get("REMOTE_ADDR")
    trusted: int = settings.TRUSTED_PROXY_COUNT
    forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if trusted <= 0 or not forwarded:
        return remote
    entries = [entry.strip() for entry in forwarded.split(",") if entry.strip()]
    if not entries:
        return remote
    return entries[-trusted] if len(entries) >= trusted else entries[0]
