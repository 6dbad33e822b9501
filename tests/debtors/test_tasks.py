import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from celery.schedules import crontab
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from debtors.imports.mapping import Mapping
from debtors.imports.services import debtor_import_create, debtor_import_submit
from debtors.models import Debtor, DebtorImport, Disposition, DispositionKind, ImportStatus
from debtors.selectors import debtor_import_with_progress
from debtors.services import debtor_disposition_record
from tests.conftest import role_user, wait_until
from tests.factories import DebtorFactory
from whatsmassive import clock, roles


@pytest.mark.django_db(transaction=True)
def test_a_submitted_import_runs_on_the_worker_and_reports_progress(
    celery_worker, settings, client
):
    operator = role_user(roles.OPERATOR)
    rows = "".join(f"Debtor {n},310{n:07d},{n}\n" for n in range(30_000))
    content = "nombre,celular,monto\n" + rows + "Bad,123,5\n"
    debtor_import = debtor_import_create(
        upload=SimpleUploadedFile("big.csv", content.encode()),
        region="CO",
        update_existing=False,
        by=operator,
    )
    client.force_login(operator)
    # The upload queued the preparation: the worker reads the first rows once.
    prepared = wait_until(
        lambda: DebtorImport.objects.filter(pk=debtor_import.pk, preview__isnull=False).first(),
        timeout=60,
        message="the worker never prepared the preview",
    )
    assert prepared.preview["rows"][0] == ["Debtor 0", "3100000000", "0"]
    assert prepared.rows_total == 30_001
    debtor_import = prepared
    debtor_import_submit(
        debtor_import=debtor_import,
        mapping=Mapping.from_json(debtor_import.mapping),
        update_existing=False,
    )
    seen = set()

    def finished():
        current = debtor_import_with_progress(
            debtor_import=DebtorImport.objects.get(pk=debtor_import.pk)
        )
        seen.add((current.status, current.rows_read))
        return current if current.is_done else None

    done = wait_until(finished, timeout=60, interval=0.05, message="the import never finished")
    assert done.status == ImportStatus.COMPLETED
    assert (done.rows_read, done.imported, done.invalid) == (30_001, 30_000, 1)
    assert Debtor.objects.count() == 30_000
    # While running, counters move in steps of PROGRESS_EVERY rows, published by the worker
    # through Redis while the import's transaction is still open.
    running = {rows for status, rows in seen if status == "running"}
    assert running & {5000, 10000, 15000, 20000, 25000}
    assert seen <= {
        ("pending", 0),
        ("running", 0),
        *(("running", rows) for rows in range(5000, 30_001, 5000)),
        ("running", 30_001),  # every row read, the import's transaction still committing
        ("completed", 30_001),
    }
    text = client.get(
        f"/debtors/imports/{debtor_import.pk}/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "30,000" in text
    assert "Download the rows not imported" in text


@pytest.mark.django_db(transaction=True)
def test_the_beat_task_deletes_imports_left_at_the_mapping_step(celery_worker, settings):
    from debtors.tasks import debtor_import_delete_stale_task

    assert "debtors.tasks.debtor_import_delete_stale_task" in {
        entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    debtor_import = debtor_import_create(
        upload=SimpleUploadedFile("old.csv", b"nombre,celular\nAna,3001234567\n"),
        region="CO",
        update_existing=False,
        by=None,
    )
    stored = Path(debtor_import.file.path)
    DebtorImport.objects.filter(pk=debtor_import.pk).update(
        created_at=timezone.now() - datetime.timedelta(days=2)
    )
    debtor_import_delete_stale_task.delay().get(timeout=60)
    assert not DebtorImport.objects.filter(pk=debtor_import.pk).exists()
    assert not stored.exists()


@pytest.mark.django_db(transaction=True)
def test_the_daily_task_marks_unkept_promises_broken_on_the_worker(celery_worker, settings):
    from debtors.tasks import dispositions_mark_broken_task

    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule["debtors.tasks.dispositions_mark_broken_task"] == crontab(hour=0, minute=5)
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    promise = Disposition.objects.create(
        debtor=DebtorFactory(),
        kind=DispositionKind.PROMISE,
        amount=Decimal("1000"),
        date=yesterday,
        at=timezone.now() - datetime.timedelta(days=3),
    )
    dispositions_mark_broken_task.delay().get(timeout=60)
    promise.refresh_from_db()
    assert promise.broken_on == timezone.localdate()


@pytest.mark.django_db
def test_the_task_reads_the_day_from_the_clock():
    from debtors.tasks import dispositions_mark_broken_task

    today = timezone.localdate()
    promise = debtor_disposition_record(
        debtor=DebtorFactory(),
        kind=DispositionKind.PROMISE,
        amount=Decimal("1000"),
        date=today,
        by=None,
    )
    dispositions_mark_broken_task()
    promise.refresh_from_db()
    assert promise.broken_on is None
    later = timezone.now() + datetime.timedelta(days=2)
    with clock.moved_to(later):
        dispositions_mark_broken_task()
    promise.refresh_from_db()
    assert promise.broken_on == timezone.localdate(later)
