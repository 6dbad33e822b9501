"""The account's health score as a badge, the same on every page that lists accounts."""

from typing import Any

from django import template
from django.conf import settings

from sessions_app.models import WhatsAppSession

register = template.Library()


@register.inclusion_tag("sessions_app/_health_badge.html")
def health_badge(session: WhatsAppSession) -> dict[str, Any]:
    score = session.health_score
    if score is None:
        level = ""
    elif score < settings.WHATSAPP_HEALTH_PAUSE_BELOW:
        level = "failed"
    elif score < settings.WHATSAPP_HEALTH_SLOW_BELOW:
        level = "restricted"
    else:
        level = "connected"
    return {
        "score": score,
        "level": level,
        "slow_below": settings.WHATSAPP_HEALTH_SLOW_BELOW,
        "pause_below": settings.WHATSAPP_HEALTH_PAUSE_BELOW,
    }
