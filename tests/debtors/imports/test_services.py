import csv
import datetime
import io
import os
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.utils import timezone

from debtors.imports.mapping import Mapping
from debtors.imports.readers import ImportFileError
from debtors.imports.services import (
    debtor_import_create,
    debtor_import_delete,
    debtor_import_delete_stale,
    debtor_import_prepare,
    debtor_import_run,
    debtor_import_submit,
)
from debtors.models import Debtor, DebtorImport, ImportStatus
from tests.debtors.imports.conftest import write_sheet

pytestmark = pytest.mark.django_db

MESSY_CSV = (
    "Nombre;Teléfono;Deuda;Fecha de vencimiento;Ciudad\n"
    "Lucía;300 123 4567;1.234,56;15/12/2026;Medellín\n"
    "Iván;310-765-4321;$ 2 000;2026-12-31;Cali\n"
    "Repetida;+57 300 123 4567;10;;Cali\n"
    "Sin número;;10;;Cali\n"
)


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


def upload(content: str | bytes, name: str = "deudores.csv") -> SimpleUploadedFile:
    data = content.encode("cp1252") if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_an_upload_is_inspected_then_prepared_with_its_mapping_guessed(operator):
    debtor_import = debtor_import_create(
        upload=upload(MESSY_CSV), region="CO", update_existing=False, by=operator
    )
    assert (debtor_import.format, debtor_import.encoding, debtor_import.delimiter) == (
        "csv",
        "cp1252",
        ";",
    )
    assert debtor_import.rows_total == 4
    assert debtor_import.is_preparing
    assert debtor_import.mapping == {}
    debtor_import = debtor_import_prepare(debtor_import_id=debtor_import.pk)
    assert not debtor_import.is_preparing
    assert debtor_import.preview["rows"][0] == [
        "Lucía",
        "300 123 4567",
        "1.234,56",
        "15/12/2026",
        "Medellín",
    ]
    assert debtor_import.mapping == {
        "headers": ["Nombre", "Teléfono", "Deuda", "Fecha de vencimiento", "Ciudad"],
        "targets": ["name", "phone", "amount", "due_date", "extra"],
    }
    assert debtor_import.status == ImportStatus.PENDING
    assert debtor_import.submitted_at is None
    assert debtor_import.original_filename == "deudores.csv"
    assert "deudores" not in debtor_import.file.name  # stored under a generated name
    assert os.stat(debtor_import.file.path).st_mode & 0o777 == 0o600


@override_settings(IMPORT_MAX_BYTES=50)
def test_an_oversize_upload_is_refused_and_nothing_kept(operator):
    with pytest.raises(ImportFileError, match="limit is"):
        debtor_import_create(upload=upload(MESSY_CSV), region="CO", update_existing=False, by=None)
    assert not DebtorImport.objects.exists()


def test_an_empty_upload_is_refused(operator):
    with pytest.raises(ImportFileError, match="empty"):
        debtor_import_create(upload=upload(b""), region="CO", update_existing=False, by=None)
    assert not DebtorImport.objects.exists()


def _submitted(operator, content=MESSY_CSV, **mapping_changes):
    debtor_import = debtor_import_create(
        upload=upload(content), region="CO", update_existing=False, by=operator
    )
    debtor_import = debtor_import_prepare(debtor_import_id=debtor_import.pk)
    mapping = Mapping.from_json(debtor_import.mapping)
    for column, target in mapping_changes.items():
        mapping.targets[mapping.headers.index(column)] = target
    assert debtor_import_submit(debtor_import=debtor_import, mapping=mapping, update_existing=False)
    return debtor_import


def test_running_an_import_saves_counters_and_an_error_report(operator):
    debtor_import = _submitted(operator)
    events = []
    result = debtor_import_run(
        debtor_import_id=debtor_import.pk,
        progress_every=1,
        on_progress=lambda counts: events.append(counts.rows_read),
    )
    assert result is not None
    assert result.status == ImportStatus.COMPLETED
    assert (
        result.rows_read,
        result.imported,
        result.updated,
        result.duplicates,
        result.invalid,
    ) == (
        4,
        2,
        0,
        1,
        1,
    )
    assert events == [1, 2, 3, 4, 4]
    assert result.percent == 100
    with result.error_report.open("rb") as report:
        lines = list(csv.reader(io.StringIO(report.read().decode())))
    assert lines == [
        ["row", "name", "column", "value", "reason"],
        [
            "4",
            "Repetida",
            "Teléfono",
            "'+57 300 123 4567",
            "same phone as row 2 (+573001234567): the first row was kept",
        ],
        ["5", "Sin número", "Teléfono", "", "phone is blank"],
    ]
    assert Debtor.objects.get(phone_e164="+573001234567").extra == {"ciudad": "Medellín"}


def test_a_run_is_not_repeated_once_finished(operator):
    debtor_import = _submitted(operator)
    assert debtor_import_run(debtor_import_id=debtor_import.pk) is not None
    assert debtor_import_run(debtor_import_id=debtor_import.pk) is None
    assert Debtor.objects.count() == 2


def test_an_import_that_was_not_submitted_does_not_run(operator):
    debtor_import = debtor_import_create(
        upload=upload(MESSY_CSV), region="CO", update_existing=False, by=operator
    )
    assert debtor_import_run(debtor_import_id=debtor_import.pk) is None


def test_a_mapping_is_submitted_only_once(operator):
    debtor_import = _submitted(operator)
    mapping = Mapping.from_json(debtor_import.mapping)
    assert not debtor_import_submit(
        debtor_import=debtor_import, mapping=mapping, update_existing=True
    )


def stored_files(settings) -> list[Path]:
    return [path for path in Path(settings.MEDIA_ROOT).rglob("*") if path.is_file()]


def test_a_file_level_error_mid_import_fails_it_keeps_nothing_and_deletes_the_file(
    operator, settings
):
    rows = "".join(f"Fila {n};310{n:07d};10;;Cali\n" for n in range(10))
    unclosed = MESSY_CSV + rows + '"Bea;' + "x" * 200_000 + "\n"
    debtor_import = _submitted(operator, content=unclosed)
    assert stored_files(settings)
    result = debtor_import_run(debtor_import_id=debtor_import.pk)
    assert result is not None
    assert result.status == ImportStatus.FAILED
    assert "cannot be read after line 15" in result.error_message
    assert (result.rows_read, result.imported) == (0, 0)
    assert not Debtor.objects.exists()
    assert not result.file
    assert stored_files(settings) == []


def test_a_crash_mid_import_deletes_the_stored_file(operator, settings, monkeypatch):
    debtor_import = _submitted(operator)

    def crash(**kwargs):  # stands for any bug below the service
        raise RuntimeError("boom")

    monkeypatch.setattr("debtors.imports.services.import_file", crash)
    result = debtor_import_run(debtor_import_id=debtor_import.pk)
    assert result.status == ImportStatus.FAILED
    assert result.error_message == "The import stopped on an unexpected error."
    assert stored_files(settings) == []


@override_settings(IMPORT_MAX_ROWS=3)
def test_a_file_over_the_row_cap_is_refused_at_upload_and_nothing_kept(settings):
    with pytest.raises(ImportFileError, match="has 4 rows; the limit is 3"):
        debtor_import_create(upload=upload(MESSY_CSV), region="CO", update_existing=False, by=None)
    assert not DebtorImport.objects.exists()
    assert stored_files(settings) == []


def test_an_upload_that_fails_on_anything_leaves_no_file(settings, monkeypatch):
    def crash(path):  # stands for any surprise while inspecting
        raise UnicodeDecodeError("utf-8", b"", 0, 1, "boom")

    monkeypatch.setattr("debtors.imports.services.inspect_file", crash)
    with pytest.raises(UnicodeDecodeError):
        debtor_import_create(upload=upload(MESSY_CSV), region="CO", update_existing=False, by=None)
    assert not DebtorImport.objects.exists()
    assert stored_files(settings) == []


def test_a_spreadsheet_the_worker_cannot_read_fails_at_preparation_and_is_deleted(
    operator, settings
):
    broken = '<worksheet><sheetData><row r="1"><c><v>1</v></row><row r="2"><c><v>2</v></row>'
    path = write_sheet(settings.MEDIA_ROOT.parent / "broken.xlsx", broken)
    debtor_import = debtor_import_create(
        upload=upload(path.read_bytes(), name="broken.xlsx"),
        region="CO",
        update_existing=False,
        by=operator,
    )
    result = debtor_import_prepare(debtor_import_id=debtor_import.pk)
    assert result.status == ImportStatus.FAILED
    assert "cannot be read" in result.error_message
    assert stored_files(settings) == []


def test_deleting_imports_deletes_their_files(
    operator, settings, django_capture_on_commit_callbacks
):
    finished = _submitted(operator)
    debtor_import_run(debtor_import_id=finished.pk)
    other = _submitted(operator, content=MESSY_CSV.replace("Lucía", "Otra"))
    assert len(stored_files(settings)) == 3  # two uploads, one error report
    with django_capture_on_commit_callbacks(execute=True):
        deleted = debtor_import_delete(debtor_imports=DebtorImport.objects.filter(pk=finished.pk))
    assert deleted == 1
    assert stored_files(settings) == [Path(other.file.path)]


def test_imports_left_at_the_mapping_step_for_a_day_are_deleted(
    operator, settings, django_capture_on_commit_callbacks
):
    stale = debtor_import_create(
        upload=upload(MESSY_CSV), region="CO", update_existing=False, by=operator
    )
    fresh = debtor_import_create(
        upload=upload(MESSY_CSV), region="CO", update_existing=False, by=operator
    )
    submitted = _submitted(operator)
    day_ago = timezone.now() - datetime.timedelta(days=1, minutes=1)
    DebtorImport.objects.exclude(pk=fresh.pk).update(created_at=day_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert debtor_import_delete_stale(older_than=datetime.timedelta(days=1)) == 1
    assert set(DebtorImport.objects.values_list("pk", flat=True)) == {fresh.pk, submitted.pk}
    assert Path(stale.file.path) not in stored_files(settings)
    assert len(stored_files(settings)) == 2


def test_extra_columns_can_be_ignored_and_fields_remapped(operator):
    debtor_import = _submitted(operator, Ciudad="ignore", Deuda="extra")
    debtor_import_run(debtor_import_id=debtor_import.pk)
    assert Debtor.objects.get(phone_e164="+573001234567").extra == {"deuda": "1.234,56"}
