import csv

import pytest
from django.core.management import CommandError, call_command

from debtors.models import Debtor
from tests.debtors.imports.conftest import write_csv
from tests.factories import DebtorFactory

pytestmark = pytest.mark.django_db


def _file(tmp_path):
    return write_csv(
        tmp_path / "lista.csv",
        [
            ["nombre", "celular", "monto"],
            ["Ana", "300 123 4567", "1.000"],
            ["Ana otra vez", "3001234567", "2.000"],
            ["Bea", "310 765 4321", "500"],
            ["Cid", "no sé", "5"],
        ],
    )


def test_the_command_prints_one_summary_line(tmp_path, capsys):
    DebtorFactory(phone_e164="+573107654321", name="Old")
    errors = tmp_path / "errors.csv"
    call_command("import_debtors", str(_file(tmp_path)), "--errors-csv", str(errors))
    assert capsys.readouterr().out == "imported=1 updated=0 duplicates=2 invalid=1\n"
    with errors.open() as handle:
        rows = list(csv.DictReader(handle))
    assert [(row["row"], row["reason"]) for row in rows] == [
        ("3", "same phone as row 2 (+573001234567): the first row was kept"),
        ("5", "not a phone number"),
        ("4", "+573107654321 is already a debtor (update existing is off)"),
    ]


def test_update_existing_updates_known_phones(tmp_path, capsys):
    DebtorFactory(phone_e164="+573107654321", name="Old")
    call_command("import_debtors", str(_file(tmp_path)), "--update-existing", "--region", "co")
    assert capsys.readouterr().out == "imported=1 updated=1 duplicates=1 invalid=1\n"
    assert Debtor.objects.get(phone_e164="+573107654321").name == "Bea"


def test_a_dry_run_counts_everything_and_writes_nothing(tmp_path, capsys):
    call_command("import_debtors", str(_file(tmp_path)), "--dry-run")
    assert capsys.readouterr().out == "imported=2 updated=0 duplicates=1 invalid=1\n"
    assert not Debtor.objects.exists()


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "The file is empty."), (b"nombre,monto\nAna,5\n", "No column is mapped to the phone")],
)
def test_a_file_level_error_exits_2_with_a_clear_message(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=message) as caught:
        call_command("import_debtors", str(path))
    assert caught.value.returncode == 2
    assert "Nothing was imported" in str(caught.value)


def test_a_missing_file_exits_2(tmp_path):
    with pytest.raises(CommandError, match="no such file") as caught:
        call_command("import_debtors", str(tmp_path / "nope.csv"))
    assert caught.value.returncode == 2
