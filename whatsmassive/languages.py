"""The language of a user's pages: their profile's choice, else the browser's, else LANGUAGE_CODE.

The choice is copied into the session at login and whenever it changes, so that a request
needs no query to know it; LocaleMiddleware (the cookie, then Accept-Language) decides for
anonymous users and for those who left the choice to their browser.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils import translation

from whatsmassive.models import UserProfile

SESSION_KEY = "_language"


def language_is_known(language: str) -> bool:
    return language in {code for code, _name in settings.LANGUAGES}


@transaction.atomic
def user_language_set(*, user: User, language: str) -> None:
    """Keep `language` (a code of LANGUAGES, or "" for the browser's) as the user's choice."""
    if language and not language_is_known(language):
        raise ValueError(f"unknown language {language!r}")
    UserProfile.objects.update_or_create(user=user, defaults={"language": language})


def user_language(*, user: User) -> str:
    return UserProfile.objects.filter(user=user).values_list("language", flat=True).first() or ""


def language_apply(*, request: HttpRequest, response: HttpResponseBase, language: str) -> None:
    """Make `language` the one of this browser from now on ("": let Accept-Language decide)."""
    if getattr(request, "user", None) is not None and request.user.is_authenticated:
        _session_remember(request, language)
    if language:
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            language,
            max_age=settings.LANGUAGE_COOKIE_AGE,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            secure=settings.LANGUAGE_COOKIE_SECURE,
            httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite="Lax",
        )
    else:
        response.delete_cookie(
            settings.LANGUAGE_COOKIE_NAME,
            path=settings.LANGUAGE_COOKIE_PATH,
            domain=settings.LANGUAGE_COOKIE_DOMAIN,
            samesite="Lax",
        )


def _session_remember(request: HttpRequest, language: str) -> None:
    if language:
        request.session[SESSION_KEY] = language
    else:
        request.session.pop(SESSION_KEY, None)


def on_login(sender: Any, request: HttpRequest | None, user: User, **_: Any) -> None:
    if request is not None and hasattr(request, "session"):
        _session_remember(request, user_language(user=user))


class UserLanguageMiddleware:
    """After LocaleMiddleware and authentication: the user's own choice wins over the browser."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        language = request.session.get(SESSION_KEY, "") if request.user.is_authenticated else ""
        if language and language_is_known(language):
            translation.activate(language)
            request.LANGUAGE_CODE = language
        return self.get_response(request)
