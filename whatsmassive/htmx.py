"""What every app's views share about htmx requests."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails


class HtmxHttpRequest(HttpRequest):
    """A request that went through django-htmx's middleware (for the type checker)."""

    htmx: HtmxDetails


def htmx_redirect(request: HtmxHttpRequest, url: str) -> HttpResponse:
    """Go to `url`: htmx follows a client redirect, a plain form post a 302."""
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)
