"""The one place that renders live fragments and pushes them to pages (Channels over Redis).

Each push is a fragment of the page that shows it, rendered from the database without a
request; its root element's id tells htmx's ws extension where to swap it. Pushes are hints:
pages re-fetch a snapshot from the database when their socket (re)connects, so a push lost
while Redis restarts costs nothing but a moment's staleness. Progress pushes are coalesced
per campaign: the first change in a half-second window goes out at once, the rest collapse
into one trailing push at the end of the window. Each process remembers until when a
trailing push it has seen scheduled is still to come, and asks Redis nothing before then:
a busy campaign costs a few Redis calls per window, not two per message.
"""

import functools
import logging
import time
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from kombu.exceptions import OperationalError as BrokerUnavailable

logger = logging.getLogger(__name__)

PROGRESS_WINDOW_MS = 500
DASHBOARD_GROUP = "dashboard"
SESSIONS_GROUP = "sessions"


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
    except (redis.RedisError, OSError) as exc:  # Redis away: one line per push, no traceback
        logger.warning("Live update to %s not delivered: Redis unavailable (%s)", group, exc)
    except Exception:  # a lost push must never break the work that caused it
        logger.warning("Live update to %s not delivered", group, exc_info=True)


def _fragment(template: str, context: dict[str, Any]) -> dict[str, Any]:
    """An event carrying one rendered fragment; its root id says where the page swaps it."""
    return {"type": "fragment", "html": render_to_string(template, context)}


def campaign_progress_broadcast(campaign_id: int) -> None:
    from campaigns.models import Campaign
    from campaigns.selectors import campaign_live_context

    campaign = Campaign.objects.select_related("pool").filter(pk=campaign_id).first()
    if campaign is None:
        return
    context = campaign_live_context(campaign=campaign)
    group_send(
        campaign_group(campaign_id), _fragment("campaigns/campaign_detail.html#progress", context)
    )
    bar = {"campaign": campaign, "progress": context["progress"]}
    group_send(DASHBOARD_GROUP, _fragment("campaigns/_campaign_bar.html", bar))


# One round trip: take the window's lead (-1), else schedule its trailing push (-2), else
# say in how many milliseconds the trailing push already scheduled is due.
_WINDOW_SCRIPT = """
if redis.call('SET', KEYS[1], 1, 'NX', 'PX', ARGV[1]) then return -1 end
if redis.call('SET', KEYS[2], 1, 'NX', 'PX', ARGV[1]) then return -2 end
return redis.call('PTTL', KEYS[2])
"""
_LEAD, _TRAIL = -1, -2

# campaign id -> time.monotonic() until which a scheduled trailing push is still to come. That
# push renders after every change committed before then, so those changes need no call.
_trail_due: dict[int, float] = {}


def _push_progress_coalesced(campaign_id: int) -> None:
    from campaigns.tasks import campaign_progress_push

    now = time.monotonic()
    if now < _trail_due.get(campaign_id, 0.0):
        return
    try:
        keys = [f"wm:progress:lead:{campaign_id}", f"wm:progress:trail:{campaign_id}"]
        answer = int(_redis().register_script(_WINDOW_SCRIPT)(keys=keys, args=[PROGRESS_WINDOW_MS]))
        if answer == _LEAD:
            campaign_progress_broadcast(campaign_id)
            return
        due_ms = answer
        if answer == _TRAIL:
            due_ms = PROGRESS_WINDOW_MS
            campaign_progress_push.apply_async((campaign_id,), countdown=PROGRESS_WINDOW_MS / 1000)
        _trail_due[campaign_id] = now + due_ms / 1000
    # Publishing the trailing push fails with kombu's error, not redis-py's, after a short
    # bounded retry (task_publish_retry_policy); the send loop that called us goes on.
    except (redis.RedisError, OSError, BrokerUnavailable):
        logger.warning("Progress push for campaign %s skipped: Redis unavailable", campaign_id)


def campaign_progress_changed(campaign_id: int) -> None:
    """Call inside the transaction that changed messages; the push follows its commit."""
    transaction.on_commit(lambda: _push_progress_coalesced(campaign_id), robust=True)


def session_broadcast(session_id: int) -> None:
    from sessions_app.models import WhatsAppSession
    from sessions_app.selectors import session_live_context
    from whatsmassive.selectors import dashboard_accounts_context

    session = WhatsAppSession.objects.filter(pk=session_id).first()
    if session is None:
        return
    context = session_live_context(session=session)
    group_send(
        session_group(session_id),
        _fragment("sessions_app/session_detail.html#session_live", context),
    )
    group_send(SESSIONS_GROUP, _fragment("sessions_app/session_list.html#session_row", context))
    group_send(
        DASHBOARD_GROUP,
        _fragment("whatsmassive/dashboard.html#accounts", dashboard_accounts_context()),
    )


def session_changed(session_id: int) -> None:
    """An account's state or QR changed; its fragments are pushed after commit."""
    transaction.on_commit(lambda: session_broadcast(session_id), robust=True)
