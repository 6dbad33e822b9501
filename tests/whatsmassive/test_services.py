import datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import DatabaseError, transaction
from django.utils import timezone

from whatsmassive.models import AuditKind, AuditRecord
from whatsmassive.services import AuditRetentionError, audit_record_add, audit_records_purge

pytestmark = pytest.mark.django_db


def _record(days_ago: float) -> AuditRecord:
    return audit_record_add(
        kind=AuditKind.EXPORT,
        action="debtors",
        at=timezone.now() - datetime.timedelta(days=days_ago),
    )


def test_postgresql_refuses_to_update_an_audit_record():
    record = _record(0)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).update(action="nothing")
    record.refresh_from_db()
    assert record.action == "debtors"


def test_postgresql_refuses_to_delete_an_audit_record_even_an_old_one():
    record = _record(5000)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).delete()
    assert AuditRecord.objects.filter(pk=record.pk).exists()


def test_a_purge_removes_only_records_older_than_its_date(settings):
    settings.AUDIT_RETENTION_DAYS = 1096
    old, kept = _record(1200), _record(1000)
    assert audit_records_purge(before=timezone.now() - datetime.timedelta(days=1100)) == 1
    assert list(AuditRecord.objects.values_list("pk", flat=True)) == [kept.pk]
    assert not AuditRecord.objects.filter(pk=old.pk).exists()


def test_a_purge_inside_the_retention_is_refused(settings):
    settings.AUDIT_RETENTION_DAYS = 1096
    _record(1000)
    with pytest.raises(AuditRetentionError, match="1096 days"):
        audit_records_purge(before=timezone.now() - datetime.timedelta(days=900))
    assert AuditRecord.objects.count() == 1


def test_the_permission_to_delete_ends_with_the_purge_transaction(settings):
    settings.AUDIT_RETENTION_DAYS = 1096
    record = _record(2000)
    audit_records_purge(before=timezone.now() - datetime.timedelta(days=3000))
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditRecord.objects.filter(pk=record.pk).delete()


def test_the_purge_command_takes_a_date_and_refuses_one_inside_the_retention(capsys):
    _record(2000)
    with pytest.raises(CommandError, match="on or before"):
        call_command("audit_purge", "--before", timezone.localdate().isoformat())
    with pytest.raises(CommandError, match="must be a date"):
        call_command("audit_purge", "--before", "yesterday")
    before = timezone.localdate() - datetime.timedelta(days=1500)
    call_command("audit_purge", "--before", before.isoformat())
    assert capsys.readouterr().out.strip() == "purged=1"
    assert not AuditRecord.objects.exists()
