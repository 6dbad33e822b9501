import datetime

from django.conf import settings
from django.utils import timezone

from sessions_app.models import WhatsAppSession


def stale_before() -> datetime.datetime:
    """Heartbeats older than this belong to a host that is gone."""
    return timezone.now() - datetime.timedelta(seconds=settings.HOST_STALE_SECONDS)


def session_is_held(*, session: WhatsAppSession) -> bool:
    """A live session host holds the account: its heartbeat is fresh."""
    return bool(session.host) and (
        session.heartbeat_at is not None and session.heartbeat_at >= stale_before()
    )
