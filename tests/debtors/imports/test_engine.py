import codecs
import datetime
import io
from decimal import Decimal

import pytest

from debtors.imports.engine import ErrorReport, import_file
from debtors.imports.readers import ImportFileError, inspect_file
from debtors.models import Debtor
from tests.debtors.imports.conftest import FIXTURES, write_csv, write_xlsx
from tests.factories import DebtorFactory

pytestmark = pytest.mark.django_db

HEADER = ["Nombre", "Celular", "Monto", "Fecha", "Referencia", "Ciudad"]


def test_a_clean_spanish_file_imports_every_row_with_its_fields(tmp_path, run_import):
    path = write_csv(
        tmp_path / "deudores.csv",
        [
            HEADER,
            ["Lucía Restrepo", "300 123 4567", "1.234,56", "15/12/2026", "CR-1", "Medellín"],
            ["Iván Peña", "+57 310-765-4321", "$ 2 000", "2026-12-31", "CR-2", "Cali"],
        ],
    )
    run = run_import(path)
    assert run.counts.summary() == "imported=2 updated=0 duplicates=0 invalid=0"
    assert run.counts.rows_read == 2
    lucia = Debtor.objects.get(phone_e164="+573001234567")
    assert lucia.name == "Lucía Restrepo"
    assert lucia.phone_raw == "300 123 4567"
    assert lucia.amount == Decimal("1234.56")
    assert lucia.currency == "COP"
    assert lucia.due_date == datetime.date(2026, 12, 15)
    assert lucia.reference == "CR-1"
    assert lucia.extra == {"ciudad": "Medellín"}
    assert run.report == []


def test_each_bad_row_is_reported_with_its_row_column_value_and_reason(tmp_path, run_import):
    path = write_csv(
        tmp_path / "messy.csv",
        [
            HEADER,
            ["Ok", "3001234567", "100", "", "", ""],
            ["No phone", "", "100", "", "", ""],
            ["Bad phone", "12345", "100", "", "", ""],
            ["Negative", "3001234568", "-100", "", "", ""],
            ["Blank amount", "3001234569", "", "", "", ""],
            ["Bad date", "3001234570", "100", "31/02/2026", "", ""],
            ["Mangled", "3.00123E+09", "100", "", "", ""],
        ],
    )
    run = run_import(path)
    assert run.counts.summary() == "imported=1 updated=0 duplicates=0 invalid=6"
    assert run.report[0] == {
        "row": "3",
        "name": "No phone",
        "column": "Celular",
        "value": "",
        "reason": "phone is blank",
    }
    reasons = run.reasons()
    assert reasons[4] == "not a valid phone number for region CO"
    assert reasons[5] == "amount is negative"
    assert reasons[6] == "amount is blank"
    assert reasons[7] == "not a valid date"
    assert "scientific notation" in reasons[8]
    assert Debtor.objects.count() == 1


def test_duplicates_within_the_file_keep_the_first_row(tmp_path, run_import):
    path = write_csv(
        tmp_path / "dupes.csv",
        [
            HEADER,
            ["First", "300 123 4567", "100", "", "", ""],
            ["Second", "+573001234567", "200", "", "", ""],
            ["Third", "0057 300 123 4567", "300", "", "", ""],
        ],
    )
    run = run_import(path, update_existing=True)
    assert run.counts.summary() == "imported=1 updated=0 duplicates=2 invalid=0"
    assert Debtor.objects.get().name == "First"
    assert run.reasons() == {
        3: "same phone as row 2 (+573001234567): the first row was kept",
        4: "same phone as row 2 (+573001234567): the first row was kept",
    }


def test_existing_debtors_are_left_alone_unless_update_existing(tmp_path, run_import):
    DebtorFactory(phone_e164="+573001234567", name="Old", amount=Decimal("5"), extra={"a": "1"})
    path = write_csv(
        tmp_path / "again.csv",
        [
            HEADER,
            ["New", "3001234567", "100", "", "", "Bogotá"],
            ["Other", "3109876543", "1", "", "", ""],
        ],
    )
    run = run_import(path)
    assert run.counts.summary() == "imported=1 updated=0 duplicates=1 invalid=0"
    assert run.reasons() == {2: "+573001234567 is already a debtor (update existing is off)"}
    assert Debtor.objects.get(phone_e164="+573001234567").name == "Old"


def test_update_existing_overwrites_mapped_fields_and_merges_extra(tmp_path, run_import):
    debtor = DebtorFactory(
        phone_e164="+573001234567", name="Old", amount=Decimal("5"), extra={"a": "1"}
    )
    debtor.opted_out = True
    debtor.save()
    path = write_csv(
        tmp_path / "again.csv", [HEADER, ["New", "3001234567", "100", "", "R-9", "Bogotá"]]
    )
    run = run_import(path, update_existing=True)
    assert run.counts.summary() == "imported=0 updated=1 duplicates=0 invalid=0"
    debtor.refresh_from_db()
    assert debtor.name == "New"
    assert debtor.amount == Decimal("100.00")
    assert debtor.reference == "R-9"
    assert debtor.extra == {"a": "1", "ciudad": "Bogotá"}
    assert debtor.opted_out  # an import never undoes an opt-out


def test_ragged_rows_are_reported_by_line_number(tmp_path, run_import):
    path = tmp_path / "ragged.csv"
    path.write_text(
        "nombre,telefono,monto\n"
        "Ana,3001234567,100\n"
        '"Multi\nline name",3001234568,100\n'
        "Short,3001234569\n"
        "Long,3001234570,100,surprise\n"
        "Trailing,3001234571,100,,\n"
    )
    run = run_import(path)
    assert run.counts.summary() == "imported=3 updated=0 duplicates=0 invalid=2"
    assert run.reasons() == {
        5: "row has 2 fields, the header has 3",
        6: "row has 4 fields, the header has 3",
    }
    assert Debtor.objects.filter(name="Multi\nline name").exists()


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_the_delimiter_is_sniffed(tmp_path, run_import, delimiter):
    path = write_csv(
        tmp_path / "d.csv",
        [["name", "phone", "amount"], ["Ana, la de Cali", "3001234567", "1.234,56"]],
        delimiter=delimiter,
    )
    run = run_import(path)
    assert run.counts.imported == 1
    assert Debtor.objects.get().amount == Decimal("1234.56")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_utf8_with_or_without_bom_and_windows_1252_are_read(tmp_path, run_import, encoding):
    path = write_csv(
        tmp_path / "e.csv",
        [["Teléfono", "Nombre", "Deuda"], ["3001234567", "Núñez Peña", "100"]],
        encoding=encoding,
    )
    run = run_import(path)
    assert run.counts.imported == 1
    assert Debtor.objects.get().name == "Núñez Peña"


def test_hostile_names_are_stored_as_plain_text(tmp_path, run_import):
    names = ['=HYPERLINK("http://x")', "+1+1", "-2", "@SUM(A1)", "<script>alert(1)</script>"]
    path = write_csv(
        tmp_path / "h.csv",
        [["name", "phone"], *[[name, f"30012345{n:02d}"] for n, name in enumerate(names)]],
    )
    assert run_import(path).counts.imported == 5
    assert sorted(Debtor.objects.values_list("name", flat=True)) == sorted(names)


def test_xlsx_with_numeric_phones_serial_dates_and_numbers_is_read(tmp_path, run_import):
    path = write_xlsx(
        tmp_path / "d.xlsx",
        [
            ["Name", "WhatsApp", "Amount", "Due date", "Reference", "Plan"],
            ["Ana", 3001234567, 1234.5, datetime.date(2026, 12, 15), 778, "Gold"],
            ["Bea", "3.00123E+09", 10, 46006, "R2", None],
            [None, None, None, None, None, None],
            ["Cid", "310 765 4321", -5, None, "R3", None],
        ],
    )
    run = run_import(path)
    assert run.counts.summary() == "imported=1 updated=0 duplicates=0 invalid=2"
    ana = Debtor.objects.get()
    assert (ana.phone_e164, ana.amount, ana.due_date, ana.reference, ana.extra) == (
        "+573001234567",
        Decimal("1234.50"),
        datetime.date(2026, 12, 15),
        "778",
        {"plan": "Gold"},
    )
    assert set(run.reasons()) == {3, 5}


def test_a_file_without_a_phone_column_imports_nothing(tmp_path, run_import):
    path = write_csv(tmp_path / "x.csv", [["name", "amount"], ["Ana", "100"]])
    with pytest.raises(ImportFileError, match="phone"):
        run_import(path)


@pytest.mark.parametrize("content", [b"", b"\n\n", b"name,phone\n"])
def test_an_empty_file_is_a_clear_error(tmp_path, run_import, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=r"empty|no data|no header"):
        run_import(path)


def test_the_row_cap_is_checked_again_while_reading(tmp_path, settings):
    # The upload's count is a bound for CSV (quotes and blank lines aside): the engine keeps
    # its own.
    path = write_csv(
        tmp_path / "big.csv", [["name", "phone"], *[["A", f"30012345{n:02d}"] for n in range(4)]]
    )
    info = inspect_file(path)
    settings.IMPORT_MAX_ROWS = 3
    with pytest.raises(ImportFileError, match="more than 3 rows"):
        import_file(
            path=path,
            info=info,
            mapping=None,
            region="CO",
            update_existing=False,
            report=ErrorReport(io.StringIO()),
        )


def test_a_nul_byte_is_a_row_error_naming_its_column(tmp_path, run_import):
    path = tmp_path / "nul.csv"
    path.write_bytes(
        b"Nombre,Celular,Ciudad\nAna\x00Mar,3001234567,Cali\nBea,3001234568,Bogo\x00ta\n"
        b"Eva,3001234569,Cali\n"
    )
    run = run_import(path)
    assert run.counts.summary() == "imported=1 updated=0 duplicates=0 invalid=2"
    assert [(line["row"], line["name"], line["column"]) for line in run.report] == [
        ("2", "AnaMar", "Nombre"),
        ("3", "Bea", "Ciudad"),
    ]
    assert {line["reason"] for line in run.report} == {
        "holds a NUL character (a binary file or a broken export)"
    }
    assert list(Debtor.objects.values_list("name", flat=True)) == ["Eva"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_and_utf32_files_are_decoded(tmp_path, run_import, encoding):
    # Excel's "Unicode text" is UTF-16 LE with a byte-order mark and tabs.
    bom = {"utf-16-le": codecs.BOM_UTF16_LE, "utf-16-be": codecs.BOM_UTF16_BE}.get(encoding, b"")
    text = "Nombre\tCelular\tCiudad\r\nLucía Peña\t300 123 4567\tMedellín\r\n"
    path = tmp_path / "unicode.txt"
    path.write_bytes(bom + text.encode(encoding))
    info = inspect_file(path)
    assert (info.delimiter, info.rows_total) == ("\t", 1)
    run = run_import(path)
    assert run.counts.imported == 1
    debtor = Debtor.objects.get()
    assert (debtor.name, debtor.extra) == ("Lucía Peña", {"ciudad": "Medellín"})


def test_an_amount_carries_its_currency_code(tmp_path, run_import):
    path = write_csv(
        tmp_path / "money.csv",
        [
            ["Nombre", "Celular", "Monto", "Moneda"],
            ["Ana", "3001234567", "USD 120", ""],
            ["Bea", "3001234568", "USD 120", "COP"],
            ["Eva", "3001234569", "12abc", ""],
        ],
    )
    run = run_import(path)
    assert run.counts.summary() == "imported=1 updated=0 duplicates=0 invalid=2"
    assert Debtor.objects.get().currency == "USD"
    assert run.reasons() == {3: "amount is in USD, not COP", 4: "amount is not a number"}


@pytest.mark.parametrize("name", ["deudores.ods", "deudores.xls"])
def test_libreoffice_ods_and_xls_files_are_imported(run_import, name):
    run = run_import(FIXTURES / name)
    assert run.counts.summary() == "imported=2 updated=0 duplicates=0 invalid=1"
    lucia = Debtor.objects.get(phone_e164="+573001234567")
    assert (lucia.name, lucia.amount, lucia.due_date) == (
        "Lucía Restrepo",
        Decimal("1234.56"),
        datetime.date(2026, 12, 15),
    )
    assert Debtor.objects.filter(phone_e164="+573107654321").exists()
    assert run.reasons() == {4: "phone is blank"}


def test_progress_is_reported_every_n_rows_and_at_the_end(tmp_path, run_import):
    rows = [["name", "phone"], *[["A", f"30012345{n:02d}"] for n in range(5)]]
    events = []
    run_import(
        write_csv(tmp_path / "p.csv", rows),
        on_progress=lambda counts: events.append((counts.rows_read, counts.imported)),
        progress_every=2,
    )
    assert events == [(2, 0), (4, 0), (5, 5)]


def test_a_time_zone_column_is_imported_by_its_iana_name_in_any_case(tmp_path, run_import):
    path = write_csv(
        tmp_path / "zonas.csv",
        [
            ["Nombre", "Celular", "Monto", "Zona horaria"],
            ["Lucía Restrepo", "3001234567", "100", "america/bogota"],
            ["Iván Peña", "3101234567", "100", "Europe/Madrid"],
            ["Ana Gómez", "3111234567", "100", ""],
        ],
    )
    run = run_import(path)
    assert run.counts.summary() == "imported=3 updated=0 duplicates=0 invalid=0"
    zones = dict(Debtor.objects.values_list("phone_e164", "time_zone"))
    assert zones == {
        "+573001234567": "America/Bogota",
        "+573101234567": "Europe/Madrid",
        "+573111234567": "",
    }


def test_an_unknown_time_zone_is_a_row_error_with_its_reason(tmp_path, run_import):
    path = write_csv(
        tmp_path / "zonas.csv",
        [
            ["Nombre", "Celular", "Monto", "Time zone"],
            ["Lucía Restrepo", "3001234567", "100", "Bogota"],
            ["Iván Peña", "3101234567", "100", "America/Bogota"],
        ],
    )
    run = run_import(path)
    assert run.counts.summary() == "imported=1 updated=0 duplicates=0 invalid=1"
    assert run.report == [
        {
            "row": "2",
            "name": "Lucía Restrepo",
            "column": "Time zone",
            "value": "Bogota",
            "reason": "“Bogota” is not a time zone: write its IANA name, e.g. America/Bogota",
        }
    ]


def test_update_existing_overwrites_the_time_zone_only_when_the_column_is_mapped(
    tmp_path, run_import
):
    DebtorFactory(phone_e164="+573001234567", time_zone="Europe/Madrid")
    DebtorFactory(phone_e164="+573101234567", time_zone="Europe/Madrid")
    with_zone = write_csv(
        tmp_path / "con_zona.csv",
        [["Nombre", "Celular", "Zona horaria"], ["Lucía", "3001234567", "America/Bogota"]],
    )
    without_zone = write_csv(
        tmp_path / "sin_zona.csv", [["Nombre", "Celular"], ["Iván", "3101234567"]]
    )
    run_import(with_zone, update_existing=True)
    run_import(without_zone, update_existing=True)
    zones = dict(Debtor.objects.values_list("phone_e164", "time_zone"))
    assert zones == {"+573001234567": "America/Bogota", "+573101234567": "Europe/Madrid"}


def test_a_semicolon_csv_with_a_bom_as_libreoffice_saves_it_in_spanish_is_imported(run_import):
    path = FIXTURES / "deudores-punto-y-coma.csv"
    assert path.read_bytes().startswith(b"\xef\xbb\xbfNombre;")
    info = inspect_file(path)
    assert (info.encoding, info.delimiter) == ("utf-8-sig", ";")
    run = run_import(path)
    assert run.counts.summary() == "imported=3 updated=0 duplicates=0 invalid=1"
    lucia = Debtor.objects.get(phone_e164="+573001234567")
    assert (lucia.name, lucia.amount, lucia.due_date, lucia.extra) == (
        "Lucía Restrepo",
        Decimal("1234.56"),
        datetime.date(2026, 12, 15),
        {"ciudad": "Medellín"},
    )
    brothers = Debtor.objects.get(phone_e164="+573009876543")
    assert (brothers.name, brothers.amount, brothers.due_date, brothers.extra) == (
        "Peña; Hermanos",
        Decimal("1030000.50"),
        datetime.date(2027, 1, 2),
        {"ciudad": "Bogotá, D.C."},
    )
    assert run.reasons() == {4: "phone is blank"}
