import logging
from typing import ClassVar

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from whatsmassive.db import choices_check


class LogLevel(models.IntegerChoices):
    DEBUG = logging.DEBUG, _("debug")
    INFO = logging.INFO, _("info")
    WARNING = logging.WARNING, _("warning")
    ERROR = logging.ERROR, _("error")
    CRITICAL = logging.CRITICAL, _("critical")


class SystemLog(models.Model):
    """An application log record, kept where staff and operators can browse it."""

    level = models.PositiveSmallIntegerField(choices=LogLevel.choices)
    source = models.CharField(max_length=120, db_index=True, help_text=_("Logger name"))
    message = models.TextField()
    context = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["level", "-created_at"], name="systemlog_level_recent")]
        constraints = [choices_check("level", LogLevel, name="systemlog_level_valid")]

    def __str__(self) -> str:
        return f"[{self.get_level_display()}] {self.source}: {self.message[:80]}"


class APIKeyScope(models.TextChoices):
    READ = "read", _("read (GET only)")
    WRITE = "write", _("read and write")


class APIKey(AbstractAPIKey):
    """A key for the HTTP API: it acts as its owner, limited further by its scope.

    Only a hash is stored (the key is shown once); `prefix` is the visible part that tells
    keys apart. A key never does more than its owner may: the owner's permissions are checked
    on every request, and a deactivated owner's keys stop working.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_keys"
    )
    scope = models.CharField(max_length=10, choices=APIKeyScope.choices, default=APIKeyScope.READ)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects: ClassVar[APIKeyManager] = APIKeyManager()

    class Meta(AbstractAPIKey.Meta):
        verbose_name = _("API key")  # type: ignore[assignment]
        verbose_name_plural = _("API keys")  # type: ignore[assignment]
        constraints = [choices_check("scope", APIKeyScope, name="apikey_scope_valid")]
        permissions = [("manage_integrations", "Can manage API keys and webhooks")]


class AuditKind(models.TextChoices):
    SEND = "send", _("send attempt")
    OPT_OUT = "opt_out", _("opt-out")
    CONSENT = "consent", _("consent given again")
    CAMPAIGN = "campaign", _("campaign transition")
    EXPORT = "export", _("export of debtor data")


class AuditRecord(models.Model):
    """One thing the law asks us to be able to show later: append-only.

    A PostgreSQL trigger refuses UPDATE and DELETE on the table; only `manage.py
    audit_purge` removes rows, and only those older than AUDIT_RETENTION_DAYS. The related
    rows are referenced without database constraints: a campaign, message or user deleted
    later must not take its records with it (nor be refused because of them).
    """

    at = models.DateTimeField()
    kind = models.CharField(max_length=10, choices=AuditKind.choices)
    # What happened: the send's result, the campaign's new status, what was exported.
    action = models.CharField(max_length=40)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    by_name = models.CharField(
        max_length=150, blank=True, help_text=_("The user's name at the time; blank: the system")
    )
    phone_e164 = models.CharField(_("debtor phone"), max_length=20, blank=True)
    campaign = models.ForeignKey(
        "campaigns.Campaign",
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    session = models.ForeignKey(
        "sessions_app.WhatsAppSession",
        verbose_name=_("account"),
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        null=True,
        blank=True,
        related_name="+",
    )
    message_id = models.BigIntegerField(null=True, blank=True)
    wa_message_id = models.CharField(_("WhatsApp id"), max_length=128, blank=True)
    text = models.TextField(blank=True, help_text=_("The exact text sent"))
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("export_audit", "Can export the audit trail")]
        constraints = [choices_check("kind", AuditKind, name="auditrecord_kind_valid")]
        # Each filter of the audit page walks its index backwards by id (keyset pages).
        indexes = [
            models.Index(fields=["at"], name="auditrecord_at"),
            models.Index(
                fields=["phone_e164", "-id"],
                condition=~models.Q(phone_e164=""),
                name="auditrecord_phone",
            ),
            models.Index(
                fields=["campaign", "-id"],
                condition=models.Q(campaign__isnull=False),
                name="auditrecord_campaign",
            ),
            models.Index(
                fields=["session", "-id"],
                condition=models.Q(session__isnull=False),
                name="auditrecord_account",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.action} at {self.at:%Y-%m-%d %H:%M:%S}"


class UserProfile(models.Model):
    """A user's own settings: the language of their pages (empty: the browser's)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="profile",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"),
        max_length=8,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_("Empty: the language the browser asks for."),
    )

    class Meta:
        verbose_name = _("user profile")
        verbose_name_plural = _("user profiles")

    def __str__(self) -> str:
        return str(self.user)
