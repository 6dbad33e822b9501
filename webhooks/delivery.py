"""Sending the outbox: batches events into deliveries, signs, posts, retries with backoff.

At-least-once: a delivery is leased before its request is made, so two workers never send
it at once, and a worker that dies mid-request leaves it to be tried again when the lease
ends. Each delivery keeps its `webhook-id` across tries.
"""

import datetime
import functools
import json
import logging
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import urllib3
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from campaigns.engine.statements import run
from campaigns.models import Message
from debtors.models import Debtor
from webhooks.addresses import endpoint_url_check
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import OUTBOX_COLUMNS, OutboxRow, event_payloads, stamp

logger = logging.getLogger(__name__)

# After the n-th failed try the next comes this much later: 8 tries over about 28 hours.
RETRY_DELAYS = [
    datetime.timedelta(seconds=5),
    datetime.timedelta(minutes=5),
    datetime.timedelta(minutes=30),
    datetime.timedelta(hours=2),
    datetime.timedelta(hours=5),
    datetime.timedelta(hours=10),
    datetime.timedelta(hours=10),
]
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
DISABLE_AFTER = datetime.timedelta(days=3)
EXCERPT_CHARS = 500
CLAIM_DUE = 20

_pool = urllib3.PoolManager(num_pools=50, maxsize=4, retries=False)


def new_webhook_id() -> str:
    return f"msg_{uuid.uuid4().hex}"


def _lease() -> datetime.timedelta:
    return datetime.timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS + 60)


def _claim_due(now: datetime.datetime) -> list[int]:
    """Pending deliveries whose time came (retries, replays, leases that ran out)."""
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now, endpoint__enabled=True)
            .order_by("next_attempt_at")
            .values_list("pk", flat=True)[:CLAIM_DUE]
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(next_attempt_at=now + _lease())
    return ids


def _claim_new(
    endpoint: WebhookEndpoint, now: datetime.datetime, after: int
) -> tuple[WebhookDelivery, int] | None:
    """Take the endpoint's oldest events past id `after` (up to its batch size) out of the
    outbox into a new delivery, which keeps them as its body; returns it with the last
    event id taken.

    None when there are none, or when the endpoint was disabled or deleted meanwhile: its
    row is locked first, so a delete waits for this claim or this claim for the delete.
    """
    with transaction.atomic():
        locked = WebhookEndpoint.objects.select_for_update(no_key=True).filter(
            pk=endpoint.pk, enabled=True
        )
        if not locked.values_list("pk"):
            return None
        events = _take(endpoint, after)
        if not events:
            return None
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            webhook_id=new_webhook_id(),
            next_attempt_at=now + _lease(),
            body=_body(endpoint, event_payloads(events), now),
            event_count=len(events),
        )
    return delivery, events[-1].id


def _take(endpoint: WebhookEndpoint, after: int) -> list[OutboxRow]:
    """Delete the endpoint's oldest events past `after` (up to its batch size), returning
    them in id order with their messages' campaigns and debtors."""
    _, rows = run(
        _take_sql(), {"endpoint": endpoint.pk, "after": after, "limit": endpoint.batch_size}
    )
    taken = [OutboxRow(*row) for row in rows]
    if connection.vendor != "postgresql":
        # SQLite deletes in no WITH: the messages are read after. A raw cursor reads its
        # datetimes as they are stored, in UTC without a zone.
        found: dict[int | None, tuple[Any, ...]] = {
            pk: tuple(rest)
            for pk, *rest in Message.objects.filter(
                pk__in=[row.message_id for row in taken if row.message_id is not None]
            ).values_list(
                "pk",
                "campaign_id",
                "debtor_id",
                "debtor__name",
                "debtor__reference",
                "debtor__phone_e164",
            )
        }
        taken = [
            OutboxRow(*raw, *found.get(row.message_id, ()))._replace(
                created_at=_utc(row.created_at)
            )
            for raw, row in zip(rows, taken, strict=True)
        ]
    return sorted(taken)


def _utc(value: datetime.datetime | str) -> datetime.datetime:
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    return value.replace(tzinfo=datetime.UTC)


@functools.cache
def _take_sql() -> str:
    """The statement `_take` runs. SKIP LOCKED lets two workers take batches side by side;
    on PostgreSQL the messages and debtors are joined to the deleted rows in the same
    statement.

    Prepared (statements.run), so planned once and generically: an index walk in id
    order, which steps over the entries of taken events once they are marked dead.
    Planned afresh on a table whose statistics lag its churn, it took a bitmap scan that
    visited every taken event's heap page on each call (33 ms with 200,000 taken).
    """
    event = connection.ops.quote_name(WebhookEvent._meta.db_table)
    columns = ", ".join(
        "CAST(payload AS text) AS payload" if name == "payload" else name for name in OUTBOX_COLUMNS
    )
    oldest = (
        f"SELECT id FROM {event} WHERE endpoint_id = %(endpoint)s AND id > %(after)s"  # noqa: S608
        f" ORDER BY id LIMIT %(limit)s"
    )
    if connection.vendor != "postgresql":
        return f"DELETE FROM {event} WHERE id IN ({oldest}) RETURNING {columns}"  # noqa: S608
    message = connection.ops.quote_name(Message._meta.db_table)
    debtor = connection.ops.quote_name(Debtor._meta.db_table)
    # The generic plan cannot know how many events a batch takes, and guessed a thousand:
    # it deleted by hashing the whole outbox and joined by hashing every message and
    # debtor. Taken as an array and joined laterally (LIMIT 1 keeps the lateral subquery
    # from being flattened into a join), each event is a lookup by id.
    return (
        f"WITH taken AS (DELETE FROM {event} WHERE id = ANY(ARRAY({oldest}"  # noqa: S608
        f" FOR UPDATE SKIP LOCKED)) RETURNING {columns})"
        " SELECT taken.*, joined.* FROM taken"
        " LEFT JOIN LATERAL (SELECT m.campaign_id, d.id, d.name, d.reference, d.phone_e164"
        f" FROM {message} m JOIN {debtor} d ON d.id = m.debtor_id"
        " WHERE m.id = taken.message_id LIMIT 1) AS joined ON TRUE"
    )


def _body(endpoint: WebhookEndpoint, payloads: list[str], now: datetime.datetime) -> str:
    """One event's JSON as it is, or the batch of them (their JSON text, unparsed)."""
    if endpoint.batch_size == 1 and len(payloads) == 1:
        return payloads[0]
    return (
        f'{{"type":"batch","timestamp":{json.dumps(stamp(now))},'
        f'"data":{{"events":[{",".join(payloads)}]}}}}'
    )


def signed_headers(
    *, secret: str, webhook_id: str, body: str, at: datetime.datetime
) -> dict[str, str]:
    at = at.astimezone(datetime.UTC)
    return {
        "content-type": "application/json",
        "user-agent": "WhatsMassive-Webhooks/1",
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, at, body),
    }


def _post(delivery: WebhookDelivery, now: datetime.datetime) -> tuple[int | None, str]:
    endpoint, body = delivery.endpoint, delivery.body
    try:
        address = endpoint_url_check(endpoint.url)
    except ValidationError as exc:
        return None, " ".join(exc.messages)
    url = urlsplit(endpoint.url)
    headers = signed_headers(
        secret=endpoint.secret, webhook_id=delivery.webhook_id, body=body, at=now
    )
    # Connected to the address just checked, not to the name: the name's next answer could
    # be another. The name stays in the Host header and, for https, in SNI and in the
    # certificate's hostname check.
    headers["host"] = url.netloc
    pinned = {"server_hostname": url.hostname} if url.scheme == "https" else {}
    try:
        pool = _pool.connection_from_host(
            address, port=url.port, scheme=url.scheme, pool_kwargs=pinned
        )
        response = pool.urlopen(
            "POST",
            urlunsplit(("", "", url.path or "/", url.query, "")),
            body=body.encode(),
            headers=headers,
            timeout=urllib3.Timeout(total=settings.WEBHOOK_TIMEOUT_SECONDS),
            retries=False,
            redirect=False,
            preload_content=False,
        )
        try:
            excerpt = response.read(EXCERPT_CHARS * 4, decode_content=True)
        finally:
            response.release_conn()
    except urllib3.exceptions.HTTPError as exc:
        return None, f"{type(exc).__name__}: {exc}"[:EXCERPT_CHARS]
    return response.status, excerpt.decode("utf-8", "replace")[:EXCERPT_CHARS]


def delivery_attempt(*, delivery_id: int) -> bool:
    """Make one try of a claimed delivery and record it; True when the endpoint took it.

    A delivery deleted with its endpoint since it was claimed, or while its request was
    under way, is left alone (False).
    """
    delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
    return delivery is not None and _attempt(delivery)


def _attempt(delivery: WebhookDelivery) -> bool:
    now = timezone.now()
    status, excerpt = _post(delivery, now)
    done = timezone.now()
    succeeded = status is not None and 200 <= status < 300
    attempts = delivery.attempts + 1
    fields: dict[str, object] = {
        "attempts": attempts,
        "last_attempt_at": done,
        "response_status": status,
        "response_excerpt": excerpt,
    }
    if succeeded:
        fields.update(status=DeliveryStatus.SUCCEEDED, delivered_at=done, next_attempt_at=None)
    elif attempts >= MAX_ATTEMPTS:
        fields.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
    else:
        fields["next_attempt_at"] = done + RETRY_DELAYS[attempts - 1]
    with transaction.atomic():
        # The endpoint's row before the delivery's, the order endpoint_delete takes them in.
        locked = list(
            WebhookEndpoint.objects.select_for_update(no_key=True)
            .filter(pk=delivery.endpoint_id)
            .values_list("failing_since", flat=True)
        )
        if not locked:
            return False  # deleted while the request was under way
        WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)
        _endpoint_record(delivery.endpoint, failing_since=locked[0], succeeded=succeeded, at=done)
    if not succeeded:
        logger.warning(
            "Webhook %s to %s failed (try %d): %s %s",
            delivery.webhook_id,
            delivery.endpoint.url,
            attempts,
            status,
            excerpt[:200],
            extra={"webhook_endpoint": delivery.endpoint_id},
        )
    return succeeded


def _endpoint_record(
    endpoint: WebhookEndpoint,
    *,
    failing_since: datetime.datetime | None,
    succeeded: bool,
    at: datetime.datetime,
) -> None:
    """A try's outcome on its endpoint, whose row the caller locked and read
    `failing_since` from: a success ends a failing spell, a failure starts one or, 3 days
    into it, disables the endpoint."""
    endpoints = WebhookEndpoint.objects.filter(pk=endpoint.pk)
    if succeeded:
        if failing_since is not None:
            endpoints.update(failing_since=None)
        return
    if failing_since is None:
        endpoints.update(failing_since=at)
        return
    if failing_since > at - DISABLE_AFTER:
        return
    disabled = endpoints.filter(enabled=True).update(
        enabled=False,
        disabled_reason=f"Disabled on {at:%Y-%m-%d %H:%M} UTC: every try failed for 3 days",
    )
    if disabled:
        logger.error(
            "Webhook endpoint %s disabled: every try failed for 3 days",
            endpoint.url,
            extra={"webhook_endpoint": endpoint.pk},
        )


def _endpoints_taking_new() -> list[WebhookEndpoint]:
    """Enabled endpoints that may get a new delivery: a failing one only once its pending
    ones are settled, so an endpoint that is down is probed, not flooded."""
    pending = WebhookDelivery.objects.filter(endpoint=OuterRef("pk"), status=DeliveryStatus.PENDING)
    return list(
        WebhookEndpoint.objects.filter(enabled=True).filter(
            Q(failing_since=None) | ~Exists(pending)
        )
    )


def webhooks_deliver_pending(*, budget_seconds: float = 50.0) -> bool:
    """Send what is due, then what is new, until nothing is left or the budget is spent.

    Returns True when work was left over (the caller queues another run). The due
    deliveries and the endpoints are read once per run. Each endpoint then gets batches
    of its events until a batch comes up short, a try fails (the delivery's retries take
    over) or nothing is left. A run starts from the head of the outbox, so it takes every
    event committed before it began, one whose transaction committed behind a later one
    included; each claim after the first starts past the last event taken, not over the
    dead entries taken events leave in the outbox's index until VACUUM. A short batch took
    all there was: events written after it go with the next run, which their commit
    queued (services.kick), in fuller batches than a run chasing each new event would send.
    """
    started = time.monotonic()
    due = _claim_due(timezone.now())
    for delivery_id in due:
        delivery_attempt(delivery_id=delivery_id)
    after: dict[int, int] = {}
    endpoints = _endpoints_taking_new()
    while endpoints:
        if time.monotonic() - started >= budget_seconds:
            return True
        now = timezone.now()
        for endpoint in list(endpoints):
            claimed = _claim_new(endpoint, now, after.get(endpoint.pk, 0))
            if claimed is None:
                endpoints.remove(endpoint)
                continue
            delivery, after[endpoint.pk] = claimed
            if not _attempt(delivery) or delivery.event_count < endpoint.batch_size:
                endpoints.remove(endpoint)
    return len(due) == CLAIM_DUE


def webhooks_prune(*, keep: datetime.timedelta) -> int:
    """Delete succeeded deliveries older than `keep`, and events of endpoints deleted
    while they were being written; returns how many deliveries."""
    endpoint = WebhookEndpoint.objects.filter(pk=OuterRef("endpoint_id"))
    WebhookEvent.objects.filter(~Exists(endpoint)).delete()
    deleted, _ = WebhookDelivery.objects.filter(
        status=DeliveryStatus.SUCCEEDED, delivered_at__lt=timezone.now() - keep
    ).delete()
    return deleted
