from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q

from whatsmassive.db import choices_check


class EventType(models.TextChoices):
    MESSAGE_SENT = "message.sent"
    MESSAGE_DELIVERED = "message.delivered"
    MESSAGE_READ = "message.read"
    MESSAGE_FAILED = "message.failed"
    MESSAGE_UNKNOWN = "message.unknown"
    MESSAGE_REPLY = "message.reply"
    DEBTOR_OPTED_OUT = "debtor.opted_out"
    CAMPAIGN_STARTED = "campaign.started"
    CAMPAIGN_PAUSED = "campaign.paused"
    CAMPAIGN_RESUMED = "campaign.resumed"
    CAMPAIGN_COMPLETED = "campaign.completed"
    CAMPAIGN_CANCELLED = "campaign.cancelled"
    ACCOUNT_STATUS_CHANGED = "account.status_changed"


class WebhookEndpoint(models.Model):
    """An address of the team's own systems that receives signed events."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    # Kept in clear: every request is signed with it (Standard Webhooks, HMAC-SHA256).
    secret = models.CharField(max_length=100, editable=False)
    event_types = models.JSONField(default=list, help_text="Event types it receives")
    batch_size = models.PositiveSmallIntegerField(
        default=1, help_text="Events per request (1 to 100); above 1 a request carries a batch"
    )
    enabled = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=255, blank=True)
    failing_since = models.DateTimeField(
        null=True, blank=True, help_text="First failed try since the last success"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(batch_size__gte=1, batch_size__lte=100),
                name="webhookendpoint_batch_size_range",
            )
        ]

    def __str__(self) -> str:
        return self.url


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "pending"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed (gave up)"


class WebhookDelivery(models.Model):
    """One request to an endpoint (one event, or a batch), tried until it succeeds.

    Its `webhook_id` is the `webhook-id` header of every try, so a receiver can drop repeats.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    webhook_id = models.CharField(max_length=40, unique=True)
    status = models.CharField(
        max_length=20, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)
    # The request's body, fixed when its events were taken from the outbox: every try, and
    # a replay, sends the same bytes under the same webhook-id.
    body = models.TextField(editable=False)
    event_count = models.PositiveSmallIntegerField(default=0, help_text="Events it carries")
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [choices_check("status", DeliveryStatus, name="webhookdelivery_status_valid")]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(status="pending"),
                name="webhookdelivery_due",
            ),
            models.Index(fields=["endpoint", "-id"], name="webhookdelivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.webhook_id} -> {self.endpoint_id} ({self.status})"


class WebhookEvent(models.Model):
    """The outbox: one undelivered event for one endpoint, written in the transaction of
    its change. The delivery that takes it deletes it and keeps its payload in its body.

    An event about a message keeps, instead of its JSON, what the message was at that
    moment (its status, WhatsApp id, error, attempts, account and, for a reply, the
    reply's text); its payload is built when a delivery takes it, with the campaign and
    the debtor as they are then (services.event_payloads). The engine writes three such
    events per message sent, in its own commits: a row of a few columns, not a JSON
    document, keeps them cheap. Other events keep their `payload`.

    The endpoint is referenced without a database constraint: under one endpoint every
    sending host writes events at once, and a foreign key's check would have each of them
    share-lock that one row (a MultiXact per commit). An endpoint's delete removes its
    events itself (services.endpoint_delete); delivery only takes events of an endpoint
    that exists. The message is referenced without one too: its row is being written in
    the same statement, and a message deleted before delivery is sent without its campaign
    and debtor.
    """

    endpoint = models.ForeignKey(
        WebhookEndpoint,
        on_delete=models.CASCADE,
        db_constraint=False,
        db_index=False,
        related_name="events",
    )
    type = models.CharField(max_length=40, choices=EventType.choices)
    payload = models.JSONField(encoder=DjangoJSONEncoder, null=True, blank=True)
    created_at = models.DateTimeField()
    message = models.ForeignKey(
        "campaigns.Message",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    message_status = models.CharField(max_length=20, blank=True)
    wa_message_id = models.CharField(max_length=128, blank=True)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(null=True, blank=True)
    account_id = models.BigIntegerField(null=True, blank=True)
    reply_text = models.TextField(blank=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["endpoint", "id"], name="webhookevent_endpoint")]
        constraints = [
            models.CheckConstraint(
                condition=Q(payload__isnull=False) | Q(message__isnull=False),
                name="webhookevent_payload_or_message",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk}"
