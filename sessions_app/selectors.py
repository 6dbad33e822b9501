import datetime

from django.utils import timezone

from sessions_app.models import WhatsAppSession

# A session host beats more often than this while it holds an account's browser.
HOLD_HEARTBEAT_SECONDS = 60


def session_is_held(*, session: WhatsAppSession) -> bool:
    """Whether a session host is holding the account's browser (and so its profile) now."""
    if not session.host or session.heartbeat_at is None:
        return False
    return timezone.now() - session.heartbeat_at < datetime.timedelta(
        seconds=HOLD_HEARTBEAT_SECONDS
    )
