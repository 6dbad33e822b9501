import logging
from typing import ClassVar

from django.conf import settings
from django.db import models
from rest_framework_api_key.models import AbstractAPIKey, APIKeyManager

from whatsmassive.db import choices_check


class LogLevel(models.IntegerChoices):
    DEBUG = logging.DEBUG, "debug"
    INFO = logging.INFO, "info"
    WARNING = logging.WARNING, "warning"
    ERROR = logging.ERROR, "error"
    CRITICAL = logging.CRITICAL, "critical"


class SystemLog(models.Model):
    """An application log record, kept where staff and operators can browse it."""

    level = models.PositiveSmallIntegerField(choices=LogLevel.choices)
    source = models.CharField(max_length=120, db_index=True, help_text="Logger name")
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
    READ = "read", "read (GET only)"
    WRITE = "write", "read and write"


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
        verbose_name = "API key"
        verbose_name_plural = "API keys"
        constraints = [choices_check("scope", APIKeyScope, name="apikey_scope_valid")]
        permissions = [("manage_integrations", "Can manage API keys and webhooks")]
