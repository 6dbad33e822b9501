"""The one place that renders live fragments and pushes them to pages (Channels over Redis).

Each push is a fragment of the page that shows it, rendered from the database without a
request; its root element's id tells htmx's ws extension where to swap it. Pushes are hints:
pages re-fetch a snapshot from the database when their socket (re)connects, so a push lost
while Redis restarts costs nothing but a moment's staleness. Progress pushes are coalesced
per campaign to at most one push per half-second window: a change after a quiet spell goes
out at once, the changes within a window collapse into one trailing push at its end. Each
process remembers until when a trailing push it has seen scheduled is still to come, and
asks Redis nothing before then: a busy campaign costs a few Redis calls per window, not one
per message.
"""

import functools
import logging
import time
from collections.abc import Iterable
from typing import Any

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from kombu.exceptions import OperationalError as BrokerUnavailable
from redis.commands.core import Script

from campaigns.models import Campaign
from campaigns.selectors import campaign_live_context
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import dashboard_accounts_context, session_live_context

logger = logging.getLogger(__name__)

PROGRESS_WINDOW_MS = 500
DASHBOARD_GROUP = "dashboard"
SESSIONS_GROUP = "sessions"
INBOX_GROUP = "inbox"


def campaign_group(campaign_id: int) -> str:
    return f"campaign-{campaign_id}"


def session_group(session_id: int) -> str:
    return f"session-{session_id}"


def conversation_group(conversation_id: int) -> str:
    return f"conversation-{conversation_id}"


def user_group(user_id: int) -> str:
    """Every open socket of one user, whatever page it serves."""
    return f"user-{user_id}"


def user_sockets_close(user_id: int) -> None:
    """Close the user's sockets (logout, deactivation, a session that ended).

    Sockets of the user's other, still valid sessions reconnect and are authorised again.
    """
    group_send(user_group(user_id), {"type": "sockets.close"})


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
    campaign = Campaign.objects.select_related("pool").filter(pk=campaign_id).first()
    if campaign is None:
        return
    context = campaign_live_context(campaign=campaign)
    group_send(
        campaign_group(campaign_id), _fragment("campaigns/campaign_detail.html#progress", context)
    )
    bar = {"campaign": campaign, "progress": context["progress"]}
    group_send(DASHBOARD_GROUP, _fragment("campaigns/_campaign_bar.html", bar))


# A campaign's push window is one Redis key: "pushed" for the half second after a push, then
# "trailing" once a change within it has scheduled the push that ends it. A trailing push
# that has not run _OVERDUE_MS after its time was lost with the broker and frees the window.
_OVERDUE_MS = 1000
# One round trip. {0}: nothing pushed lately, push now. {1, ms}: schedule the trailing push
# in ms. {2, ms}: a trailing push is scheduled, due in ms.
_WINDOW_SCRIPT = """
local state = redis.call('GET', KEYS[1])
if not state then
  redis.call('SET', KEYS[1], 'pushed', 'PX', ARGV[1])
  return {0}
end
local ttl = redis.call('PTTL', KEYS[1])
if state == 'pushed' then
  redis.call('SET', KEYS[1], 'trailing', 'PX', ttl + ARGV[2])
  return {1, ttl}
end
return {2, ttl - ARGV[2]}
"""
_PUSH_NOW, _SCHEDULE_TRAILING = 0, 1
# Hosts' clocks differ a little: a trailing push may run this much before its time.
_CLOCK_MARGIN_SECONDS = 0.1

# campaign id -> time.monotonic() until which a scheduled trailing push is still to come. That
# push renders after every change committed before then, so those changes need no call.
_trailing_due: dict[int, float] = {}


@functools.cache
def _window_script(client: redis.Redis) -> Script:
    """The window's Lua script, once per Redis client (it sends the script by its hash)."""
    return client.register_script(_WINDOW_SCRIPT)


def _window_key(campaign_id: int) -> str:
    return f"wm:progress:window:{campaign_id}"


def _push_progress_coalesced(campaign_id: int) -> None:
    from whatsmassive.tasks import campaign_progress_push

    now = time.monotonic()
    if now < _trailing_due.get(campaign_id, 0.0):
        return
    try:
        action, *due_ms = _window_script(_redis())(
            keys=[_window_key(campaign_id)], args=[PROGRESS_WINDOW_MS, _OVERDUE_MS]
        )
        if action == _PUSH_NOW:
            campaign_progress_broadcast(campaign_id)
            return
        if action == _SCHEDULE_TRAILING:
            campaign_progress_push.apply_async((campaign_id,), countdown=due_ms[0] / 1000)
        _trailing_due[campaign_id] = now + due_ms[0] / 1000 - _CLOCK_MARGIN_SECONDS
    # Publishing the trailing push fails with kombu's error, not redis-py's, after a short
    # bounded retry (task_publish_retry_policy); the send loop that called us goes on.
    except (redis.RedisError, OSError, BrokerUnavailable):
        logger.warning("Progress push for campaign %s skipped: Redis unavailable", campaign_id)


def campaign_progress_trailing_push(campaign_id: int) -> None:
    """The push that ends a window; it opens the next one before it reads the database.

    Changes it may not see find the new window and schedule its trailing push, so every
    change is pushed and pushes stay a window apart (at most two a second).
    """
    try:
        _redis().set(_window_key(campaign_id), "pushed", px=PROGRESS_WINDOW_MS)
    except (redis.RedisError, OSError):
        logger.warning(
            "Progress window for campaign %s not reopened: Redis unavailable", campaign_id
        )
    campaign_progress_broadcast(campaign_id)


def campaign_progress_changed(campaign_id: int | None) -> None:
    """Call inside the transaction that changed messages; the push follows its commit.

    A direct message (campaign None) moves no campaign's progress.
    """
    if campaign_id is not None:
        transaction.on_commit(lambda: _push_progress_coalesced(campaign_id), robust=True)


def campaigns_progress_changed(campaign_ids: Iterable[int | None]) -> None:
    """campaign_progress_changed for each campaign named, once however often it is named."""
    for campaign_id in set(campaign_ids):
        campaign_progress_changed(campaign_id)


def inbox_broadcast(conversation_ids: Iterable[int]) -> None:
    """A hint to every inbox socket, and one to each conversation's page.

    What the unread badge, a list or a conversation page shows depends on who looks (their
    own conversations, filters, "assign to me"), so each re-fetches its part on the hint.
    """
    version = time.time_ns() // 1_000_000
    group_send(INBOX_GROUP, _fragment("inbox/_unread.html#changed", {"version": version}))
    for conversation_id in set(conversation_ids):
        hint = {"conversation_id": conversation_id, "version": version}
        group_send(
            conversation_group(conversation_id),
            _fragment("inbox/conversation_detail.html#changed", hint),
        )


def conversations_changed(conversation_ids: Iterable[int]) -> None:
    """Conversations changed (a reply, an answer, an assignment); pushed after commit."""
    ids = list(conversation_ids)
    transaction.on_commit(lambda: inbox_broadcast(ids), robust=True)


def session_broadcast(session_id: int) -> None:
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
