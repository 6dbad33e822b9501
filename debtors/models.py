from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from campaigns.policies import time_zone_valid
from whatsmassive.db import choices_check


def time_zone_validator(value: str) -> None:
    if value and not time_zone_valid(value):
        raise ValidationError(
            f"“{value}” is not a time zone: use an IANA name such as America/Bogota."
        )


class DebtorStatus(models.TextChoices):
    """Where the debtor stands in our outreach; follows the debtor's latest message."""

    NEW = "new", "not contacted"
    SENT = "sent", "sent"
    DELIVERED = "delivered", "delivered"
    READ = "read", "read"
    REPLIED = "replied", "replied"
    UNREACHABLE = "unreachable", "not on WhatsApp"
    PAID = "paid", "paid"


class OnWhatsApp(models.TextChoices):
    """WhatsApp's answer when asked about the debtor's number, remembered for later sends."""

    UNKNOWN = "unknown", "not asked yet"
    YES = "yes", "on WhatsApp"
    NO = "no", "not on WhatsApp"


def default_currency() -> str:
    # A callable, so that migrations do not freeze one deployment's DEFAULT_CURRENCY.
    return settings.DEFAULT_CURRENCY


class OptOutSource(models.TextChoices):
    """Who or what opted a debtor out."""

    REPLY = "reply", "Debtor's reply"
    OPERATOR = "operator", "Operator"


class Debtor(models.Model):
    name = models.CharField(max_length=200)
    phone_e164 = models.CharField("phone (E.164)", max_length=20, unique=True)
    phone_raw = models.CharField("phone as given", max_length=64, blank=True)
    amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(max_length=3, default=default_currency)
    due_date = models.DateField(null=True, blank=True)
    reference = models.CharField(max_length=100, blank=True, db_index=True)
    extra = models.JSONField(
        default=dict, blank=True, help_text="Extra columns from imports, usable in templates"
    )
    status = models.CharField(max_length=20, choices=DebtorStatus.choices, default=DebtorStatus.NEW)
    opted_out = models.BooleanField(default=False)
    opted_out_at = models.DateTimeField(null=True, blank=True)
    # Database defaults: imports insert debtors in bulk without naming these columns.
    on_whatsapp = models.CharField(
        max_length=7,
        choices=OnWhatsApp.choices,
        default=OnWhatsApp.UNKNOWN,
        db_default=OnWhatsApp.UNKNOWN,
    )
    whatsapp_checked_at = models.DateTimeField(null=True, blank=True)
    # WhatsApp's number-independent id of the contact (`…@lid`): replies may come from it.
    whatsapp_lid = models.CharField("WhatsApp LID", max_length=40, blank=True, db_default="")
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        db_default="",
        validators=[time_zone_validator],
        help_text="IANA name, e.g. America/Bogota; blank: from the phone number",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        permissions = [
            ("opt_out_debtor", "Can opt debtors out"),
            ("export_debtors", "Can export debtors"),
        ]
        constraints = [
            choices_check("status", DebtorStatus, name="debtor_status_valid"),
            choices_check("on_whatsapp", OnWhatsApp, name="debtor_on_whatsapp_valid"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="debtor_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(phone_e164__startswith="+"), name="debtor_phone_is_e164"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "id"], name="debtor_status_id"),
            models.Index(fields=["name", "id"], name="debtor_name_id"),
            models.Index(fields=["due_date"], name="debtor_due_date"),
            models.Index(
                fields=["whatsapp_lid"], condition=~Q(whatsapp_lid=""), name="debtor_whatsapp_lid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone_e164})"


class ImportStatus(models.TextChoices):
    PENDING = "pending", "pending"
    RUNNING = "running", "running"
    COMPLETED = "completed", "completed"
    FAILED = "failed", "failed"


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"
    ODS = "ods", "ODS"
    XLS = "xls", "XLS"


class DebtorImport(models.Model):
    """One uploaded debtor file, its column mapping and the outcome of running it."""

    file = models.FileField(upload_to="imports/%Y/%m/")
    original_filename = models.CharField(max_length=255)
    format = models.CharField(max_length=4, choices=ImportFormat.choices)
    encoding = models.CharField(max_length=20, blank=True)
    delimiter = models.CharField(max_length=1, blank=True)
    mapping = models.JSONField(
        default=dict, blank=True, help_text="Headers and the field each column goes to"
    )
    region = models.CharField(max_length=2, help_text="Region for phones without country code")
    update_existing = models.BooleanField(default=False)
    status = models.CharField(
        max_length=20, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    rows_total = models.PositiveIntegerField(
        null=True, blank=True, help_text="Counted at upload (XLS: by the worker); drives the bar"
    )
    preview = models.JSONField(
        null=True,
        blank=True,
        help_text="Headers and first rows, read once by the worker; empty while it prepares",
    )
    rows_read = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    error_report = models.FileField(upload_to="import-errors/%Y/%m/", blank=True)
    error_message = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="debtor_imports",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(
        null=True, blank=True, help_text="When the operator confirmed the mapping"
    )
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [choices_check("status", ImportStatus, name="debtor_import_status_valid")]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.status})"

    @property
    def shows_progress(self) -> bool:
        """Past the mapping step: its page follows the import's progress and result."""
        return self.submitted_at is not None or self.is_done

    @property
    def is_preparing(self) -> bool:
        return self.preview is None and self.status == ImportStatus.PENDING

    @property
    def is_done(self) -> bool:
        return self.status in {ImportStatus.COMPLETED, ImportStatus.FAILED}

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.COMPLETED:
            return 100
        if not self.rows_total:
            return 0
        return min(99, 100 * self.rows_read // self.rows_total)
