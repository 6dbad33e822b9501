import logging

from django.db import models

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
