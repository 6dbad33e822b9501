"""WebSocket consumers: dumb relays of the fragments that whatsmassive.realtime renders.

A page opens one socket for the live area it shows; the consumer checks the user in
`connect()`, joins the one group that area listens to and forwards every fragment as a
text frame (htmx's ws extension swaps it in by id). No business logic, no writes.
"""

from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from campaigns.models import Campaign
from sessions_app.models import WhatsAppSession
from whatsmassive import realtime


@database_sync_to_async
def _exists(kind: str, pk: int) -> bool:
    model = Campaign if kind == "campaign" else WhatsAppSession
    return model.objects.filter(pk=pk).exists()


class LiveConsumer(AsyncWebsocketConsumer):
    group_name: str = ""

    async def connect(self) -> None:
        user = self.scope.get("user")
        group = await self._group() if user is not None and user.is_authenticated else None
        if group is None:
            await self.close()
            return
        self.group_name = group
        await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()

    async def _group(self) -> str | None:
        kwargs = self.scope["url_route"]["kwargs"]
        kind, pk = kwargs["kind"], kwargs.get("pk")
        if pk is None:
            return realtime.DASHBOARD_GROUP if kind == "dashboard" else realtime.SESSIONS_GROUP
        if not await _exists(kind, pk):
            return None
        return realtime.campaign_group(pk) if kind == "campaign" else realtime.session_group(pk)

    async def disconnect(self, code: int) -> None:
        if self.group_name:
            await self.channel_layer.group_discard(self.group_name, self.channel_name)

    async def fragment(self, event: dict[str, Any]) -> None:
        await self.send(text_data=event["html"])
