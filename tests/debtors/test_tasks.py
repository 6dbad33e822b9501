import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from debtors.imports.mapping import Mapping
from debtors.models import Debtor, DebtorImport, ImportStatus
from debtors.services import debtor_import_create, debtor_import_submit
from tests.conftest import role_user, wait_until
from whatsmassive import roles


@pytest.mark.django_db(transaction=True)
def test_a_submitted_import_runs_on_the_worker_and_reports_progress(
    celery_worker, settings, client
):
    operator = role_user(roles.OPERATOR)
    rows = "".join(f"Debtor {n},310{n:07d},{n}\n" for n in range(12_000))
    content = "nombre,celular,monto\n" + rows + "Bad,123,5\n"
    debtor_import = debtor_import_create(
        upload=SimpleUploadedFile("big.csv", content.encode()),
        region="CO",
        update_existing=False,
        by=operator,
    )
    client.force_login(operator)
    debtor_import_submit(
        debtor_import=debtor_import,
        mapping=Mapping.from_json(debtor_import.mapping),
        update_existing=False,
    )
    seen = set()

    def finished():
        current = DebtorImport.objects.get(pk=debtor_import.pk)
        seen.add((current.status, current.rows_read))
        return current if current.is_done else None

    done = wait_until(finished, timeout=60, interval=0.05, message="the import never finished")
    assert done.status == ImportStatus.COMPLETED
    assert (done.rows_read, done.imported, done.invalid) == (12_001, 12_000, 1)
    assert Debtor.objects.count() == 12_000
    # While running, counters move in steps of PROGRESS_EVERY rows, pushed from the open
    # import transaction through a second connection.
    assert seen <= {
        ("pending", 0),
        ("running", 0),
        ("running", 5000),
        ("running", 10000),
        ("running", 12_001),  # every row read, the import's transaction still committing
        ("completed", 12_001),
    }
    text = client.get(
        f"/debtors/imports/{debtor_import.pk}/", HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "12,000" in text
    assert "Download the rows not imported" in text
