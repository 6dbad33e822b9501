"""WebSocket consumers: dumb relays of the fragments that whatsmassive.realtime renders.

A page opens one socket for the live area it shows; the consumer checks the user and the
permission that area needs in `connect()`, joins its group (and the user's own group, through
which logout, deactivation and the end of a session close it) and forwards every fragment as
a text frame (htmx's ws extension swaps it in by id). No business logic, no writes.
"""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from campaigns.models import Campaign
from inbox.models import Conversation
from sessions_app.models import WhatsAppSession
from whatsmassive import realtime
from whatsmassive.roles import Actor, may

# What a user must hold to follow each kind of live area (the dashboard needs a login only).
KIND_PERMISSIONS = {
    "campaign": "campaigns.view_campaign",
    "sessions": "sessions_app.view_whatsappsession",
    "session": "sessions_app.view_whatsappsession",
    "inbox": "inbox.view_conversation",
    "conversation": "inbox.view_conversation",
}
# The group of each kind of live area: one for all, or one per object.
SHARED_GROUPS = {
    "dashboard": realtime.DASHBOARD_GROUP,
    "sessions": realtime.SESSIONS_GROUP,
    "inbox": realtime.INBOX_GROUP,
}
OBJECT_GROUPS = {
    "campaign": (Campaign, realtime.campaign_group),
    "session": (WhatsAppSession, realtime.session_group),
    "conversation": (Conversation, realtime.conversation_group),
}


@database_sync_to_async
def _exists(kind: str, pk: int) -> bool:
    model, _ = OBJECT_GROUPS[kind]
    return bool(model._default_manager.filter(pk=pk).exists())


@database_sync_to_async
def _may(user: Actor, perm: str) -> bool:
    return may(user, perm)


class LiveConsumer(AsyncWebsocketConsumer):
    group_name: str = ""
    own_group: str = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        group = await self._group(user) if user is not None and user.is_authenticated else None
        if group is None:
            await self.close()
            return
        self.group_name = group
        self.own_group = realtime.user_group(user.pk)
        await self.channel_layer.group_add(group, self.channel_name)
        await self.channel_layer.group_add(self.own_group, self.channel_name)
        await self.accept()

    async def _group(self, user: Actor) -> str | None:
        kwargs = self.scope["url_route"]["kwargs"]
        kind, pk = kwargs["kind"], kwargs.get("pk")
        perm = KIND_PERMISSIONS.get(kind)
        if perm is not None and not await _may(user, perm):
            return None
        if pk is None:
            return SHARED_GROUPS[kind]
        if not await _exists(kind, pk):
            return None
        _, group = OBJECT_GROUPS[kind]
        return group(pk)

    async def disconnect(self, code: int) -> None:
        for group in (self.group_name, self.own_group):
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)

    async def fragment(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["html"])

    async def sockets_close(self, event: dict[str, Any]) -> None:
        await self.close()


class ClosingConsumer(AsyncWebsocketConsumer):
    """Any other /ws/ path: refused at the handshake instead of failing with a 500."""

    async def connect(self) -> None:
        await self.close()
