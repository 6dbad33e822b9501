"""Account safety writes: the health score, and the pause of an account that fell too low."""

import datetime
import logging

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext

from sessions_app.models import WhatsAppSession
from sessions_app.selectors import sessions_health
from sessions_app.services.accounts import session_disconnect
from whatsmassive import realtime

logger = logging.getLogger(__name__)


def sessions_refresh_health(*, now: datetime.datetime | None = None) -> list[int]:
    """Score every account again and store the score with its parts.

    An account whose score falls below WHATSAPP_HEALTH_PAUSE_BELOW while it runs is
    disconnected, with the reason in its status, until an operator connects it again. Only
    the fall pauses it: a score still low after the operator reconnected leaves it running
    (the operator decided), a further fall from above the threshold pauses it again.
    Returns the ids of the accounts paused. No lock is taken on the accounts: their hosts
    write them on every send, and each account's score is one short UPDATE of its own.
    """
    now = now or timezone.now()
    threshold = settings.WHATSAPP_HEALTH_PAUSE_BELOW
    sessions = {session.pk: session for session in WhatsAppSession.objects.all()}
    healths = sessions_health(session_ids=list(sessions), now=now)
    paused = []
    for pk, health in healths.items():
        session = sessions[pk]
        fell = health.score < threshold and (
            session.health_score is None or session.health_score >= threshold
        )
        WhatsAppSession.objects.filter(pk=pk).update(
            health_score=health.score, health_parts=health.parts_json(), health_at=now
        )
        if fell and session.should_run:
            session_pause_unhealthy(session=session, score=health.score)
            paused.append(pk)
        elif health.score != session.health_score:
            realtime.session_changed(pk)
    return paused


def session_pause_unhealthy(*, session: WhatsAppSession, score: int) -> None:
    reason = gettext(
        "Paused itself: its health score fell to %(score)s (below %(threshold)s). See what "
        "went wrong under Health, then connect it again"
    ) % {"score": score, "threshold": settings.WHATSAPP_HEALTH_PAUSE_BELOW}
    session_disconnect(session=session, reason=reason)
    logger.error(
        "Account %s paused: health score %d",
        session.name,
        score,
        extra={"session_id": session.pk},
    )
