"""What the API reads and writes; reads mirror the models, writes name only what may change."""

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from api import fields
from campaigns.models import Campaign, Message
from campaigns.policies import time_zone_canonical
from debtors.bulk import BULK_MAX_ROWS
from debtors.forms import REGION_CHOICES
from debtors.imports.mapping import TARGET_CHOICES
from debtors.models import Debtor, DebtorImport, DebtorStatus, Disposition, DispositionKind
from sessions_app.models import Pool, PoolMember, PoolStrategy, WhatsAppSession
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint


class DispositionSerializer(serializers.ModelSerializer[Disposition]):
    by = serializers.CharField(source="by.username", read_only=True, allow_null=True, default=None)
    broken = serializers.BooleanField(source="is_broken", read_only=True)

    class Meta:
        model = Disposition
        fields = ["id", "kind", "amount", "date", "note", "by", "at", "broken", "broken_on"]
        read_only_fields = fields


class DispositionInSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=DispositionKind.choices)
    amount = fields.Decimal(
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0.01"),
        required=False,
        allow_null=True,
        help_text="Promise to pay: the amount promised",
    )
    date = serializers.DateField(
        required=False, allow_null=True, help_text="Promise: the day of payment; call back: the day"
    )
    note = fields.Text(max_length=2000, required=False, allow_blank=True)


class DebtorSerializer(serializers.ModelSerializer[Debtor]):
    phone = serializers.CharField(source="phone_e164", read_only=True)
    disposition = DispositionSerializer(
        source="current_disposition", read_only=True, allow_null=True, help_text="The latest one"
    )

    class Meta:
        model = Debtor
        fields = [
            "id", "name", "phone", "phone_raw", "amount", "currency", "due_date", "reference",
            "extra", "status", "opted_out", "opted_out_at", "disposition", "time_zone",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields


class DebtorInSerializer(serializers.Serializer[Any]):
    """One debtor as sent: the fields of a row of an imported file, judged by its rules."""

    phone = fields.Cell(max_length=64)
    name = fields.Cell(max_length=200, required=False, allow_blank=True)
    amount = fields.Cell(
        required=False, help_text='As a file holds it: 1234.5, "1234.50" or "1.234,50"'
    )
    currency = fields.Cell(max_length=3, required=False, allow_blank=True)
    due_date = fields.Cell(required=False, allow_blank=True, allow_null=True)
    reference = fields.Cell(max_length=100, required=False, allow_blank=True)
    extra = serializers.DictField(child=fields.Cell(numbers=True, allow_blank=True), required=False)


class DebtorBulkSerializer(serializers.Serializer[Any]):
    debtors = serializers.ListField(child=DebtorInSerializer(), max_length=BULK_MAX_ROWS)
    update_existing = fields.Boolean(default=True)
    region = serializers.ChoiceField(choices=REGION_CHOICES, required=False)


class BulkResultSerializer(serializers.Serializer[Any]):
    rows_read = serializers.IntegerField()
    imported = serializers.IntegerField()
    updated = serializers.IntegerField()


class DebtorUpdateSerializer(serializers.Serializer[Any]):
    name = fields.Text(max_length=200, required=False)
    amount = fields.Decimal(max_digits=14, decimal_places=2, min_value=0, required=False)
    currency = serializers.RegexField(r"^[A-Z]{3}$", required=False)
    due_date = serializers.DateField(required=False, allow_null=True)
    reference = fields.Text(max_length=100, required=False, allow_blank=True)
    status = serializers.ChoiceField(choices=DebtorStatus.choices, required=False)
    extra = serializers.DictField(child=fields.Text(allow_blank=True), required=False)
    time_zone = fields.Text(
        max_length=64,
        required=False,
        allow_blank=True,
        help_text="IANA name, e.g. America/Bogota; blank: from the phone number",
    )

    def validate_time_zone(self, value: str) -> str:
        zone = time_zone_canonical(value)
        if zone is None:
            raise serializers.ValidationError(
                _("“%(zone)s” is not a time zone: write its IANA name, e.g. America/Bogota")
                % {"zone": value}
            )
        return zone


class DebtorImportSerializer(serializers.ModelSerializer[DebtorImport]):
    percent = serializers.IntegerField(read_only=True)
    has_error_report = serializers.SerializerMethodField()

    class Meta:
        model = DebtorImport
        fields = [
            "id", "original_filename", "format", "encoding", "delimiter", "mapping", "region",
            "update_existing", "status", "rows_total", "rows_read", "imported", "updated",
            "duplicates", "invalid", "percent", "error_message", "has_error_report",
            "created_at", "submitted_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_has_error_report(self, obj: DebtorImport) -> bool:
        return bool(obj.error_report)


@extend_schema_field({"type": "string", "format": "binary", "minLength": 1})
class _UploadField(serializers.FileField):
    """A file the schema says must hold something: the view refuses an empty one itself, with
    the wizard's reason (422), rather than as a malformed request."""


class _FormBoolean(serializers.BooleanField):
    """A form part's boolean, spelled as the schema's JSON spells it (not 1, "yes" or "on")."""

    # The Python values are DRF's own, for a part left out.
    TRUE_VALUES = {"true", True}
    FALSE_VALUES = {"false", False}
    default_error_messages = {"invalid": _('Must be "true" or "false".')}


class DebtorImportUploadSerializer(serializers.Serializer[Any]):
    file = _UploadField(
        allow_empty_file=True, help_text="CSV, XLSX or XLS; an empty one is refused (422)"
    )
    region = serializers.ChoiceField(choices=REGION_CHOICES, required=False)
    update_existing = _FormBoolean(default=False)

    def to_internal_value(self, data: Any) -> Any:
        # DRF reads a form's blank part as a part left out; the schema allows neither blank.
        blank = [name for name, _field in self.fields.items() if data.get(name) == ""]
        if blank:
            message = _("Must not be blank: leave the part out for the default.")
            raise serializers.ValidationError({name: [message] for name in blank})
        return super().to_internal_value(data)


class DebtorImportSubmitSerializer(serializers.Serializer[Any]):
    targets = serializers.ListField(
        child=serializers.ChoiceField(choices=TARGET_CHOICES),
        required=False,
        help_text="One target per column (name, phone, amount, ...); default: the guess",
    )
    update_existing = fields.Boolean(required=False)


class AccountSerializer(serializers.ModelSerializer[WhatsAppSession]):
    phone = serializers.CharField(source="phone_e164", read_only=True)
    # Local wall-clock times in the account's time zone: no offset, so not an RFC 3339 time.
    active_from = serializers.CharField(read_only=True, help_text="HH:MM:SS, local time")
    active_until = serializers.CharField(read_only=True, help_text="HH:MM:SS, local time")

    class Meta:
        model = WhatsAppSession
        fields = [
            "id", "name", "phone", "status", "status_detail", "should_run", "connected_at",
            "min_delay_seconds", "max_delay_seconds", "hourly_cap", "daily_cap", "active_from",
            "active_until", "time_zone", "sent_count", "failed_count", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class PairingCodeInSerializer(serializers.Serializer[Any]):
    phone = fields.Text(
        max_length=64, help_text=_("The number of the phone to link, as the import reads it")
    )


class PairingCodeSerializer(serializers.Serializer[Any]):
    phone = serializers.CharField(help_text=_("The number being linked, in E.164 form"))
    code = serializers.CharField(
        allow_null=True,
        help_text=_("The 8 characters to type on the phone; null until the account's host has it"),
    )
    code_at = serializers.DateTimeField(allow_null=True)


class PoolMemberSerializer(serializers.ModelSerializer[PoolMember]):
    account: serializers.PrimaryKeyRelatedField[WhatsAppSession] = (
        serializers.PrimaryKeyRelatedField(source="session", read_only=True)
    )

    class Meta:
        model = PoolMember
        fields = ["id", "account", "position", "enabled", "weight"]
        read_only_fields = fields


class PoolSerializer(serializers.ModelSerializer[Pool]):
    members = PoolMemberSerializer(many=True, read_only=True)

    class Meta:
        model = Pool
        fields = ["id", "name", "strategy", "description", "members", "created_at"]
        read_only_fields = fields


class PoolInSerializer(serializers.Serializer[Any]):
    name = fields.Text(max_length=80)
    strategy = serializers.ChoiceField(choices=PoolStrategy.choices)
    description = fields.Text(max_length=255, required=False, allow_blank=True)


class PoolMemberInSerializer(serializers.Serializer[Any]):
    account = fields.Integer(min_value=1)
    weight = fields.Integer(min_value=1, max_value=1000, default=1)


class CampaignSerializer(serializers.ModelSerializer[Campaign]):
    class Meta:
        model = Campaign
        fields = [
            "id", "name", "template", "pool", "audience", "status", "status_detail",
            "created_at", "updated_at", "started_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields


class CampaignInSerializer(serializers.Serializer[Any]):
    name = fields.Text(max_length=200)
    template = fields.Text(max_length=4000)
    pool = fields.Integer(min_value=1)
    audience = serializers.DictField(required=False, help_text="status, amount_min, amount_max")


class CampaignProgressSerializer(serializers.Serializer[Any]):
    status = serializers.CharField()
    total = serializers.IntegerField()
    done = serializers.IntegerField()
    percent = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())


class CampaignPreviewSerializer(serializers.Serializer[Any]):
    audience_count = serializers.IntegerField()
    sample = serializers.CharField(allow_null=True)
    problems = serializers.ListField(child=serializers.CharField())


class MessageSerializer(serializers.ModelSerializer[Message]):
    account: serializers.PrimaryKeyRelatedField[WhatsAppSession] = (
        serializers.PrimaryKeyRelatedField(source="session", read_only=True)
    )
    # The debtor's latest reply to this message (annotated by messages_with_latest_reply).
    reply_text = serializers.CharField(read_only=True, allow_null=True)
    replied_at = serializers.DateTimeField(read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = [
            "id", "campaign", "kind", "debtor", "account", "body", "status", "attempts",
            "last_error", "wa_message_id", "reply_text", "replied_at", "created_at", "updated_at",
            "sent_at", "delivered_at", "read_at", "failed_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookEndpointSerializer(serializers.ModelSerializer[WebhookEndpoint]):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id", "url", "description", "event_types", "batch_size", "enabled",
            "disabled_reason", "failing_since", "created_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookEndpointCreatedSerializer(WebhookEndpointSerializer):
    secret = serializers.CharField(read_only=True, help_text="Shown this once: keep it")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointInSerializer(serializers.Serializer[Any]):
    url = serializers.URLField(max_length=500)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EventType.choices), min_length=1
    )
    batch_size = fields.Integer(min_value=1, max_value=100, default=1)
    description = fields.Text(max_length=200, required=False, allow_blank=True)


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    events = serializers.IntegerField(source="event_count", read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = [
            "id", "webhook_id", "status", "attempts", "next_attempt_at", "last_attempt_at",
            "response_status", "response_excerpt", "events", "created_at", "delivered_at",
        ]  # fmt: skip
        read_only_fields = fields
