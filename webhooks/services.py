"""Webhook endpoints and the outbox the rest of the product writes events into.

`events_emit` and `message_events_emit` are called inside the transaction of the change
they report, so an event exists exactly when its change committed. When no enabled
endpoint takes a type they return after one look at a per-process cache, without a query.
"""

import base64
import datetime
import functools
import json
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, Model, QuerySet
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus, Message
from debtors.models import Debtor
from inbox.models import IncomingMessage
from sessions_app.models import WhatsAppSession
from webhooks.addresses import endpoint_url_check
from webhooks.models import (
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

User = AbstractBaseUser | AnonymousUser | None
MAX_BATCH = 100
# A run of the delivery task costs a task and its first queries before its first request:
# queued at most once a second per process, it finds a batch's worth of events, not a few.
_KICK_SECONDS = 1.0


class _Subscriptions:
    """The event types enabled endpoints take, re-read at most every few seconds."""

    def __init__(self) -> None:
        self._types: frozenset[str] = frozenset()
        self._read_at = -float("inf")

    def types(self) -> frozenset[str]:
        now = time.monotonic()
        if now - self._read_at >= settings.WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS:
            types: set[str] = set()
            for subscribed in WebhookEndpoint.objects.filter(enabled=True).values_list(
                "event_types", flat=True
            ):
                types.update(subscribed)
            self._types, self._read_at = frozenset(types), now
        return self._types

    def forget(self) -> None:
        self._read_at = -float("inf")


subscriptions = _Subscriptions()


class _Kicker:
    """Queues the delivery task after commit, at most once per short window per process.

    Each task drains every undelivered event, so one per window is enough; a trailing one
    takes what the window's later commits wrote.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next_at = 0.0
        self._trailing_at = 0.0

    def __call__(self) -> None:
        from webhooks.tasks import webhooks_deliver

        now = time.monotonic()
        with self._lock:
            if now >= self._next_at:
                self._next_at = now + _KICK_SECONDS
                countdown = None
            elif self._trailing_at < self._next_at:
                self._trailing_at = self._next_at
                countdown = self._next_at - now
            else:
                return
        if countdown is None:
            webhooks_deliver.delay()
        else:
            webhooks_deliver.apply_async(countdown=countdown)


kick = _Kicker()


def _table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def stamp(now: datetime.datetime) -> str:
    return now.isoformat().replace("+00:00", "Z")


def _endpoints_taking(type: str) -> list[int]:
    """The enabled endpoints taking `type`.

    Unlocked: an endpoint deleted meanwhile may still get this transaction's events.
    Delivery takes events only of endpoints that exist, and the hourly prune removes
    those left behind.
    """
    sql = f"SELECT id, event_types FROM {_table(WebhookEndpoint)} WHERE enabled"  # noqa: S608
    params: list[str] = []
    if connection.vendor == "postgresql":
        sql += " AND event_types @> jsonb_build_array(%s::text)"
        params.append(type)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        pk
        for pk, types in rows
        if type in (types if isinstance(types, list) else json.loads(types))
    ]


def events_subscribed(type: str) -> bool:
    """Whether an enabled endpoint takes `type` (the per-process cache: no query)."""
    return type in subscriptions.types()


def events_emit(*, type: str, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write one event of `type` per row of data, for each endpoint taking it."""
    if type not in subscriptions.types():
        return 0
    endpoints = _endpoints_taking(type)
    now = timezone.now()
    events = [
        WebhookEvent(
            endpoint_id=endpoint,
            type=type,
            payload={"type": type, "timestamp": stamp(now), "data": dict(data)},
            created_at=now,
        )
        for data in rows
        for endpoint in endpoints
    ]
    WebhookEvent.objects.bulk_create(events)
    if events:
        transaction.on_commit(kick)
    return len(events)


# What an event about a message keeps of it (its outbox columns, after `message_id`),
# from the message row's own columns; `reply_text` is the reply's, for a reply.
_SNAPSHOT = (
    ("message_status", "status"),
    ("wa_message_id", "wa_message_id"),
    ("error", "last_error"),
    ("attempts", "attempts"),
    ("account_id", "session_id"),
)


def _reply_text_sql(type: str) -> str:
    reply = f"'{EventType.MESSAGE_REPLY.value}'"
    return (
        f"COALESCE(CASE WHEN {type} = {reply} THEN (SELECT i.text"  # noqa: S608
        f" FROM {_table(IncomingMessage)} i WHERE i.in_reply_to_id = m.id"
        " ORDER BY i.received_at DESC, i.id DESC LIMIT 1) END, '')"
    )


def message_events_insert_sql(*, messages: str, type: str) -> str:
    """PostgreSQL: the outbox rows of message events, one per enabled endpoint taking the
    event's type, taken from the message rows themselves.

    `messages` is a FROM list naming the message row `m` (with the columns of `_SNAPSHOT`
    and `id`); `type` the SQL of the event's type. The parameter `now` comes with it.
    """
    event, endpoint = _table(WebhookEvent), _table(WebhookEndpoint)
    columns = ", ".join(column for column, _ in _SNAPSHOT)
    values = ", ".join(f"m.{field}" for _, field in _SNAPSHOT)
    return (
        f"INSERT INTO {event} (endpoint_id, type, created_at, message_id, {columns},"  # noqa: S608
        f" reply_text) SELECT e.id, {type}, %(now)s, m.id, {values}, {_reply_text_sql(type)}"
        f" FROM {messages}"
        f" JOIN {endpoint} e ON e.enabled AND e.event_types @> jsonb_build_array({type})"
    )


@functools.cache
def _message_events_sql() -> str:
    return message_events_insert_sql(
        messages="unnest(%(types)s::text[], %(ids)s::bigint[]) AS ev(type, message_id)"
        f" JOIN {_table(Message)} m ON m.id = ev.message_id",
        type="ev.type",
    )


def message_events_emit(events: Iterable[tuple[str, int]]) -> None:
    """Events about messages, `(type, message id)` each, taken from their rows in one INSERT."""
    subscribed = subscriptions.types()
    wanted = [(type, pk) for type, pk in events if type in subscribed]
    if not wanted:
        return
    now = timezone.now()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                _message_events_sql(),
                {
                    "now": now,
                    "types": [type for type, _ in wanted],
                    "ids": [pk for _, pk in wanted],
                },
            )
            written = cursor.rowcount
    else:
        messages = Message.objects.in_bulk([pk for _, pk in wanted])
        endpoints = {type: _endpoints_taking(type) for type in {type for type, _ in wanted}}
        rows = [
            WebhookEvent(
                endpoint_id=endpoint,
                type=type,
                created_at=now,
                message_id=pk,
                reply_text=_reply_text(messages[pk]) if type == EventType.MESSAGE_REPLY else "",
                **{column: getattr(messages[pk], field) for column, field in _SNAPSHOT},
            )
            for type, pk in wanted
            if pk in messages
            for endpoint in endpoints[type]
        ]
        WebhookEvent.objects.bulk_create(rows)
        written = len(rows)
    if written:
        transaction.on_commit(kick)


def _reply_text(message: Message) -> str:
    return (
        IncomingMessage.objects.filter(in_reply_to=message)
        .order_by("-received_at", "-id")
        .values_list("text", flat=True)
        .first()
    ) or ""


class OutboxRow(NamedTuple):
    """An outbox row as delivery takes it (`payload` as JSON text) and, for an event about
    a message, the message's campaign and debtor as they are then (None once it is gone)."""

    id: int
    type: str
    created_at: datetime.datetime
    payload: str | None
    message_id: int | None
    message_status: str
    wa_message_id: str
    error: str
    attempts: int | None
    account_id: int | None
    reply_text: str
    campaign_id: int | None = None
    debtor_id: int | None = None
    debtor_name: str | None = None
    debtor_reference: str | None = None
    debtor_phone: str | None = None


# The fields of an OutboxRow that are the outbox's own columns, the rest being joined.
OUTBOX_COLUMNS = OutboxRow._fields[: OutboxRow._fields.index("campaign_id")]


def event_payloads(rows: list[OutboxRow]) -> list[str]:
    """The JSON text of each event: an event about a message written out from what it kept
    of the message, with its campaign and debtor; any other its payload as stored."""
    payloads = []
    for row in rows:
        if row.payload is not None:
            payloads.append(row.payload)
            continue
        debtor = {
            "id": row.debtor_id,
            "name": row.debtor_name,
            "reference": row.debtor_reference,
            "phone": row.debtor_phone,
        }
        data = {
            "message_id": row.message_id,
            "campaign_id": row.campaign_id,
            "account_id": row.account_id,
            "status": row.message_status,
            "wa_message_id": row.wa_message_id,
            "error": row.error,
            "attempts": row.attempts,
            "reply_text": row.reply_text or None,
            "debtor": debtor if row.debtor_id is not None else None,
        }
        event = {"type": row.type, "timestamp": stamp(row.created_at), "data": data}
        payloads.append(json.dumps(event, ensure_ascii=False))
    return payloads


def _new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _clean_event_types(event_types: list[str]) -> list[str]:
    unknown = sorted(set(event_types) - set(EventType.values))
    if unknown:
        raise ValidationError({"event_types": f"Unknown event types: {', '.join(unknown)}."})
    if not event_types:
        raise ValidationError({"event_types": "Choose at least one event type."})
    return sorted(set(event_types))


@transaction.atomic
def endpoint_create(
    *, url: str, event_types: list[str], batch_size: int = 1, description: str = "", by: User
) -> WebhookEndpoint:
    """Register an endpoint; its `secret` is read once by the caller to show it."""
    try:
        endpoint_url_check(url)
    except ValidationError as exc:
        raise ValidationError({"url": exc.messages}) from exc
    if not 1 <= batch_size <= MAX_BATCH:
        raise ValidationError({"batch_size": f"Between 1 and {MAX_BATCH}."})
    endpoint = WebhookEndpoint.objects.create(
        url=url,
        event_types=_clean_event_types(event_types),
        batch_size=batch_size,
        description=description,
        secret=_new_secret(),
        created_by=by if isinstance(by, AuthUser) else None,
    )
    transaction.on_commit(subscriptions.forget)
    return endpoint


@transaction.atomic
def endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled=True, disabled_reason="", failing_since=None
    )
    transaction.on_commit(subscriptions.forget)
    endpoint.refresh_from_db()
    return endpoint


@transaction.atomic
def endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    """Delete the endpoint with its outbox: its events and deliveries, pending or not.

    The row lock comes first: it waits for a delivery worker taking the endpoint's events
    into a delivery, which once it commits finds the endpoint gone (see delivery.py).
    Events a transaction still under way writes for it are left to the prune.
    """
    if not WebhookEndpoint.objects.select_for_update().filter(pk=endpoint.pk).values_list("pk"):
        return
    WebhookEvent.objects.filter(endpoint_id=endpoint.pk).delete()
    WebhookDelivery.objects.filter(endpoint_id=endpoint.pk).delete()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()
    transaction.on_commit(subscriptions.forget)


@transaction.atomic
def delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Send a delivery again now, with the same `webhook-id`, whatever its outcome was."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=timezone.now()
    )
    transaction.on_commit(kick)
    delivery.refresh_from_db()
    return delivery


_CAMPAIGN_EVENTS = {
    CampaignStatus.PAUSED: EventType.CAMPAIGN_PAUSED,
    CampaignStatus.COMPLETED: EventType.CAMPAIGN_COMPLETED,
    CampaignStatus.CANCELLED: EventType.CAMPAIGN_CANCELLED,
}


def _campaign_rows(campaign_ids: Iterable[int]) -> Iterable[Mapping[str, Any]]:
    return Campaign.objects.filter(pk__in=list(campaign_ids)).values(
        "name", "status", "status_detail", "started_at", "finished_at", campaign_id=F("id")
    )


def campaign_events_emit(*, type: str, campaign_ids: Iterable[int]) -> None:
    if type in subscriptions.types():
        events_emit(type=type, rows=_campaign_rows(campaign_ids))


def campaign_transition_emit(*, campaign: Campaign, was: Iterable[str]) -> None:
    """The event of a campaign that just changed status (`was`: the states it came from)."""
    if campaign.status == CampaignStatus.RUNNING:
        type = (
            EventType.CAMPAIGN_STARTED
            if CampaignStatus.DRAFT in was
            else EventType.CAMPAIGN_RESUMED
        )
    else:
        type = _CAMPAIGN_EVENTS[CampaignStatus(campaign.status)]
    campaign_events_emit(type=type, campaign_ids=[campaign.pk])


def debtor_events_emit(*, type: str, debtors: QuerySet[Debtor]) -> None:
    if type not in subscriptions.types():
        return
    rows = debtors.values(
        "name", "reference", "status", "opted_out", "opted_out_at",
        debtor_id=F("id"), phone=F("phone_e164"),
    )  # fmt: skip
    events_emit(type=type, rows=rows)


def account_status_emit(*, session_ids: Iterable[int]) -> None:
    type = EventType.ACCOUNT_STATUS_CHANGED
    if type not in subscriptions.types():
        return
    rows = WhatsAppSession.objects.filter(pk__in=list(session_ids)).values(
        "name", "status", "status_detail", account_id=F("id"), phone=F("phone_e164")
    )
    events_emit(type=type, rows=rows)
