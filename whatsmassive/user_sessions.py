"""Sessions that end: after SESSION_IDLE_MINUTES without use, at logout, at deactivation.

A session's expiry moves forward as it is used (at most once a minute, to spare a write per
request); Django itself refuses an expired session. Whenever a session ends, its user's
WebSockets are closed: a page that stays open must not keep receiving fragments.
"""

import datetime
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, User
from django.contrib.sessions.models import Session
from django.http import HttpRequest, HttpResponse
from django.utils import timezone

from whatsmassive import realtime

logger = logging.getLogger(__name__)

LAST_SEEN_KEY = "_last_seen"
REFRESH_EVERY = datetime.timedelta(minutes=1)


class SessionIdleMiddleware:
    """Push the session's expiry SESSION_IDLE_MINUTES past each use (once a minute at most)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.user.is_authenticated:
            now = timezone.now()
            last_seen = request.session.get(LAST_SEEN_KEY)
            if last_seen is None or now - datetime.datetime.fromisoformat(last_seen) >= (
                REFRESH_EVERY
            ):
                request.session[LAST_SEEN_KEY] = now.isoformat()
                request.session.set_expiry(settings.SESSION_IDLE_MINUTES * 60)
        return self.get_response(request)


def sessions_end_expired() -> int:
    """Delete ended sessions and close their users' sockets; returns how many ended."""
    ended = Session.objects.filter(expire_date__lte=timezone.now())
    user_ids: set[int] = set()
    keys = []
    for session in ended.iterator():
        keys.append(session.session_key)
        user_id = session.get_decoded().get("_auth_user_id")
        if user_id is not None:
            user_ids.add(int(user_id))
    Session.objects.filter(session_key__in=keys).delete()
    for user_id in user_ids:
        realtime.user_sockets_close(user_id)
    if user_ids:
        logger.info("%d idle session(s) ended", len(keys), extra={"user_ids": sorted(user_ids)})
    return len(keys)


def on_logout(sender: Any, request: HttpRequest, user: AbstractBaseUser | None, **_: Any) -> None:
    if user is not None:
        realtime.user_sockets_close(user.pk)


def on_user_saved(sender: Any, instance: User, **_: Any) -> None:
    if not instance.is_active:
        realtime.user_sockets_close(instance.pk)
