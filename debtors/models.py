from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q

from whatsmassive.db import choices_check


class DebtorStatus(models.TextChoices):
    """Where the debtor stands in our outreach; follows the debtor's latest message."""

    NEW = "new", "not contacted"
    SENT = "sent", "sent"
    DELIVERED = "delivered", "delivered"
    READ = "read", "read"
    REPLIED = "replied", "replied"
    UNREACHABLE = "unreachable", "not on WhatsApp"


def default_currency() -> str:
    # A callable, so that migrations do not freeze one deployment's DEFAULT_CURRENCY.
    return settings.DEFAULT_CURRENCY


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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            choices_check("status", DebtorStatus, name="debtor_status_valid"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="debtor_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(phone_e164__startswith="+"), name="debtor_phone_is_e164"
            ),
        ]
        indexes = [
            models.Index(fields=["status", "id"], name="debtor_status_id"),
            models.Index(fields=["name", "id"], name="debtor_name_id"),
            models.Index(fields=["due_date"], name="debtor_due_date"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone_e164})"
