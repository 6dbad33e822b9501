import zipfile

import pytest
from django.test import override_settings

from debtors.imports.readers import ImportFileError, check_filename, inspect_file, open_table
from tests.debtors.imports.conftest import FIXTURES, sheet_xml, write_csv, write_sheet, write_xlsx


def test_a_zip_bomb_is_rejected_before_parsing(tmp_path):
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    with pytest.raises(ImportFileError, match="zip bomb"):
        inspect_file(path)


@override_settings(IMPORT_XLSX_MAX_UNCOMPRESSED_BYTES=1000)
def test_an_xlsx_that_unpacks_too_large_is_rejected(tmp_path):
    path = write_xlsx(tmp_path / "big.xlsx", [["name", "phone"], ["Ana", "3001234567"]])
    with pytest.raises(ImportFileError, match="unpacks to"):
        inspect_file(path)


@override_settings(IMPORT_XLSX_MAX_ENTRIES=3)
def test_an_xlsx_with_too_many_parts_is_rejected(tmp_path):
    path = write_xlsx(tmp_path / "parts.xlsx", [["name", "phone"]])
    with pytest.raises(ImportFileError, match="parts"):
        inspect_file(path)


def test_xml_entity_declarations_are_rejected(tmp_path):
    path = tmp_path / "laughs.xlsx"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">]><workbook>&lol;</workbook>',
        )
    with pytest.raises(ImportFileError, match="entities"):
        inspect_file(path)


def test_a_zip_that_is_not_a_workbook_is_rejected(tmp_path):
    path = tmp_path / "photos.xlsx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("photo.jpg", b"jpeg")
    with pytest.raises(ImportFileError, match="not an XLSX or ODS"):
        inspect_file(path)


def test_ods_and_xls_made_by_libreoffice_are_recognised_by_content(tmp_path):
    for name, file_format, rows in [("deudores.ods", "ods", 3), ("deudores.xls", "xls", None)]:
        stored = tmp_path / "upload"  # uploads are stored under a generated name
        stored.write_bytes((FIXTURES / name).read_bytes())
        info = inspect_file(stored)
        assert (info.format, info.rows_total) == (file_format, rows)
        with open_table(stored, info) as table:
            assert table.headers[:2] == ["Nombre", "Celular"]
            assert len(list(table.rows)) == 3


@override_settings(IMPORT_MAX_BYTES=1000)
def test_an_xls_is_held_to_the_size_cap(tmp_path):
    with pytest.raises(ImportFileError, match="limit is"):
        inspect_file(FIXTURES / "deudores.xls")


def _with_macros(path, tmp_path, *, content_types=True, vba=True):
    source = write_xlsx(tmp_path / "plain.xlsx", [["name", "phone"], ["Ana", "3001234567"]])
    with zipfile.ZipFile(source) as plain, zipfile.ZipFile(path, "w") as macro:
        for entry in plain.infolist():
            data = plain.read(entry)
            if content_types and entry.filename == "[Content_Types].xml":
                data = data.replace(b"spreadsheetml.sheet.main+xml", b"sheet.macroEnabled.main+xml")
            macro.writestr(entry, data)
        if vba:
            macro.writestr("xl/vbaProject.bin", b"\xd0\xcf\x11\xe0 macro")
    return path


@pytest.mark.parametrize(("content_types", "vba"), [(True, True), (True, False), (False, True)])
def test_a_macro_enabled_workbook_is_refused_whatever_its_name(tmp_path, content_types, vba):
    path = _with_macros(tmp_path / "cartera.xlsx", tmp_path, content_types=content_types, vba=vba)
    with pytest.raises(ImportFileError, match=r"macros \(\.xlsm\).*save it as \.xlsx"):
        inspect_file(path)


@pytest.mark.parametrize("name", ["cartera.xlsm", "CARTERA.XLSM", "plantilla.xltm", "libro.xlsb"])
def test_macro_enabled_and_binary_workbook_names_are_refused(name):
    with pytest.raises(ImportFileError, match="can hold macros"):
        check_filename(name)


def test_an_ods_with_macros_is_refused(tmp_path):
    path = tmp_path / "macro.ods"
    with zipfile.ZipFile(FIXTURES / "deudores.ods") as plain, zipfile.ZipFile(path, "w") as ods:
        for entry in plain.infolist():
            ods.writestr(entry, plain.read(entry))
        ods.writestr("Basic/Standard/Module1.xml", "<script/>")
    with pytest.raises(ImportFileError, match="contains macros"):
        inspect_file(path)


def test_an_ods_gets_the_same_zip_bomb_check(tmp_path):
    path = tmp_path / "bomb.ods"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        archive.writestr("content.xml", b"\0" * (50 * 1024 * 1024))
    with pytest.raises(ImportFileError, match="zip bomb"):
        inspect_file(path)


@override_settings(IMPORT_MAX_ROWS=5)
def test_a_csv_over_the_row_cap_is_refused_at_inspection(tmp_path):
    rows = [["name", "phone"], *[["A\nB", f"30012345{n:02d}"] for n in range(6)]]
    with pytest.raises(ImportFileError, match="6 rows; the limit is 5"):
        inspect_file(write_csv(tmp_path / "big.csv", rows))
    # Newlines inside quotes do not count: five data rows pass.
    assert inspect_file(write_csv(tmp_path / "ok.csv", rows[:6])).rows_total == 5


@override_settings(IMPORT_MAX_ROWS=50)
@pytest.mark.parametrize(
    ("dimension", "empty_rows", "counted"),
    [
        ("A1:A40", 0, 39),  # the dimension within the cap is trusted at upload
        (None, 0, 39),  # no dimension (openpyxl's write-only mode): rows are streamed
        ("A1:A5000", 4960, 39),  # formatted empty rows widen it: data rows are counted
    ],
)
def test_xlsx_rows_are_counted_without_loading_the_sheet(tmp_path, dimension, empty_rows, counted):
    path = write_sheet(
        tmp_path / "s.xlsx", sheet_xml(40, dimension=dimension, empty_rows=empty_rows)
    )
    assert inspect_file(path).rows_total == counted


@override_settings(IMPORT_MAX_ROWS=50)
@pytest.mark.parametrize("dimension", ["A1:A61", None])
def test_an_xlsx_over_the_row_cap_is_refused_at_inspection(tmp_path, dimension):
    path = write_sheet(tmp_path / "s.xlsx", sheet_xml(61, dimension=dimension))
    with pytest.raises(ImportFileError, match="60 rows; the limit is 50"):
        inspect_file(path)


@override_settings(IMPORT_MAX_BYTES=100)
def test_an_oversize_file_is_rejected(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("name,phone\n" + "Ana,3001234567\n" * 10)
    with pytest.raises(ImportFileError, match="limit is"):
        inspect_file(path)


def test_binary_garbage_is_not_taken_for_a_csv(tmp_path):
    path = tmp_path / "garbage.csv"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ImportFileError, match="UTF-8"):
        inspect_file(path)


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252")],
)
def test_the_encoding_and_delimiter_are_detected(tmp_path, encoding, expected):
    path = write_csv(
        tmp_path / "e.csv",
        [["Teléfono", "Nombre"], ["3001234567", "Ñoño"]],
        delimiter=";",
        encoding=encoding,
    )
    info = inspect_file(path)
    assert (info.format, info.encoding, info.delimiter) == ("csv", expected, ";")
    with open_table(path, info) as table:
        assert table.headers == ["Teléfono", "Nombre"]
        assert list(table.rows) == [(2, ["3001234567", "Ñoño"])]


def test_a_quoted_header_with_delimiters_inside_is_sniffed_right(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('"Nombre, completo";"Teléfono"\nAna;3001234567\n')
    assert inspect_file(path).delimiter == ";"


def test_an_unclosed_quote_is_a_file_error_with_a_line(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text('name,phone\nAna,3001234567\n"Bea' + "x" * 200_000 + "\n")
    info = inspect_file(path)
    with open_table(path, info) as table, pytest.raises(ImportFileError, match="line 2"):
        list(table.rows)
