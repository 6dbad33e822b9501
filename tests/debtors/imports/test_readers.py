import zipfile

import pytest
from django.test import override_settings

from debtors.imports.readers import ImportFileError, inspect_file, open_table
from tests.debtors.imports.conftest import write_csv, write_xlsx


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
    with pytest.raises(ImportFileError, match="not an XLSX"):
        inspect_file(path)


def test_an_old_xls_file_is_refused_with_advice(tmp_path):
    path = tmp_path / "old.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0" + b"\0" * 100)
    with pytest.raises(ImportFileError, match=r"\.xlsx or CSV"):
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
