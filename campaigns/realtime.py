"""The one place that pushes live updates to pages (Channels groups over Redis).

Pushes are hints: pages re-fetch a snapshot from the database when their socket
(re)connects, so a push lost while Redis restarts costs nothing but a moment's staleness.
Progress pushes are coalesced per campaign: the first change in a half-second window goes
out at once, the rest collapse into one trailing push at the end of the window.
"""

import functools
import logging
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)

PROGRESS_WINDOW_MS = 500
DASHBOARD_GROUP = "dashboard"


def campaign_group(campaign_id: int) -> str:
    return f"campaign-{campaign_id}"


def session_group(session_id: int) -> str:
    return f"session-{session_id}"


@functools.cache
def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def group_send(group: str, event: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, event)
    except Exception:  # a lost push must never break the work that caused it
        logger.warning("Live update to %s not delivered", group, exc_info=True)


def campaign_progress_broadcast(campaign_id: int) -> None:
    from campaigns.models import Campaign
    from campaigns.selectors import campaign_progress

    campaign = Campaign.objects.filter(pk=campaign_id).only("status", "status_detail").first()
    if campaign is None:
        return
    progress = campaign_progress(campaign=campaign)
    event = {
        "type": "campaign.progress",
        "campaign_id": campaign_id,
        "status": campaign.status,
        "status_detail": campaign.status_detail,
        "counts": progress.counts,
        "done": progress.done,
        "total": progress.total,
        "percent": progress.percent,
    }
    group_send(campaign_group(campaign_id), event)
    group_send(DASHBOARD_GROUP, event)


def _push_progress_coalesced(campaign_id: int) -> None:
    from campaigns.tasks import campaign_progress_push

    try:
        client = _redis()
        if client.set(f"wm:progress:lead:{campaign_id}", 1, nx=True, px=PROGRESS_WINDOW_MS):
            campaign_progress_broadcast(campaign_id)
        elif client.set(f"wm:progress:trail:{campaign_id}", 1, nx=True, px=PROGRESS_WINDOW_MS):
            campaign_progress_push.apply_async((campaign_id,), countdown=PROGRESS_WINDOW_MS / 1000)
    # Publishing the trailing push fails with kombu's error, not redis-py's, after a short
    # bounded retry (task_publish_retry_policy); the send loop that called us goes on.
    except (redis.RedisError, OSError, BrokerUnavailable):
        logger.warning("Progress push for campaign %s skipped: Redis unavailable", campaign_id)


def campaign_progress_changed(campaign_id: int) -> None:
    """Call inside the transaction that changed messages; the push follows its commit."""
    transaction.on_commit(lambda: _push_progress_coalesced(campaign_id))


def session_changed(session_id: int) -> None:
    """An account's state or QR changed; pushed after commit."""

    def push() -> None:
        event = {"type": "session.changed", "session_id": session_id}
        group_send(session_group(session_id), event)
        group_send(DASHBOARD_GROUP, event)

    transaction.on_commit(push)
