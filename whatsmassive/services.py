"""The audit trail's writes: records are added, never changed; old ones are purged."""

import datetime
import logging
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from whatsmassive.models import AuditKind, AuditRecord
from whatsmassive.roles import Actor

logger = logging.getLogger(__name__)


def audit_actor(by: Actor) -> dict[str, Any]:
    """Who did it, as a record stores it: the user and their name then; blank for the system."""
    if isinstance(by, AbstractBaseUser):
        return {"by_id": by.pk, "by_name": by.get_username()}
    return {"by_id": None, "by_name": ""}


def audit_record_build(
    *,
    kind: AuditKind,
    action: str,
    by: Actor = None,
    at: datetime.datetime | None = None,
    **fields: Any,
) -> AuditRecord:
    """An unsaved record, for callers that write many at once (`audit_records_add`)."""
    return AuditRecord(
        kind=kind, action=action, at=at or timezone.now(), **audit_actor(by), **fields
    )


def audit_record_add(
    *,
    kind: AuditKind,
    action: str,
    by: Actor = None,
    at: datetime.datetime | None = None,
    **fields: Any,
) -> AuditRecord:
    """Append one record; call it inside the transaction of the change it records."""
    record = audit_record_build(kind=kind, action=action, by=by, at=at, **fields)
    record.save(force_insert=True)
    return record


def audit_records_add(records: list[AuditRecord]) -> None:
    AuditRecord.objects.bulk_create(records, batch_size=2000)


class AuditRetentionError(ValueError):
    """A purge would remove records still inside the retention period."""


def audit_retention_start(*, now: datetime.datetime | None = None) -> datetime.datetime:
    """Records from this time on must be kept."""
    return (now or timezone.now()) - datetime.timedelta(days=settings.AUDIT_RETENTION_DAYS)


@transaction.atomic
def audit_records_purge(*, before: datetime.datetime) -> int:
    """Delete the records older than `before`, which must lie before the retention period.

    The table's trigger lets a DELETE through only for rows older than the time this
    transaction names in `whatsmassive.audit_purge_before`.
    """
    keep_from = audit_retention_start()
    if before > keep_from:
        raise AuditRetentionError(
            f"Records are kept for {settings.AUDIT_RETENTION_DAYS} days: the purge date must "
            f"be on or before {timezone.localtime(keep_from):%Y-%m-%d %H:%M}."
        )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT set_config('whatsmassive.audit_purge_before', %s, true)",
                [before.isoformat()],
            )
    deleted, _ = AuditRecord.objects.filter(at__lt=before).delete()
    logger.warning(
        "%d audit record(s) older than %s purged",
        deleted,
        before.isoformat(),
        extra={"rows": deleted},
    )
    return deleted
