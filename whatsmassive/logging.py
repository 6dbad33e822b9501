import logging
from typing import Any

# LogRecord attributes that are not context the caller added with `extra=`.
_STANDARD_ATTRS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "taskName"}


def _json_safe(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _json_safe(item) for key, item in value.items()}
    return str(value)


def _stored_level(levelno: int) -> int:
    """Custom levels (e.g. 25) are stored as the standard level just below them."""
    from whatsmassive.models import LogLevel

    return max((level for level in LogLevel.values if level <= levelno), default=logging.DEBUG)


class SystemLogHandler(logging.Handler):
    """Stores log records as SystemLog rows so they can be browsed in admin and the app.

    The row is written in its own savepoint: a failing insert (no table yet during the
    first migrate, a broken connection) is reported on stderr and never breaks the
    caller's transaction.
    """

    def emit(self, record: logging.LogRecord) -> None:
        from django.db import transaction

        from whatsmassive.models import SystemLog

        try:
            context = {
                key: _json_safe(value)
                for key, value in vars(record).items()
                if key not in _STANDARD_ATTRS
            }
            if record.exc_info:
                context["traceback"] = logging.Formatter().formatException(record.exc_info)
            with transaction.atomic():
                SystemLog.objects.create(
                    level=_stored_level(record.levelno),
                    source=record.name[:120],
                    message=record.getMessage(),
                    context=context,
                )
        except Exception:  # noqa: BLE001 - a log handler must never raise into the caller
            self.handleError(record)
