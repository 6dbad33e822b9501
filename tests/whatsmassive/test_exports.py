import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from openpyxl import load_workbook

from whatsmassive.exports import (
    CSV_FORMATS,
    csv_format_for_locale,
    csv_lines,
    escape_cell,
    write_xlsx,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1+1", "'+1+1"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("+573001234567", "+573001234567"),
        ("+57 300 123", "'+57 300 123"),
        ("Ana", "Ana"),
        ("", ""),
    ],
)
def test_cells_that_spreadsheets_would_run_as_formulas_are_prefixed(value, expected):
    assert escape_cell(value) == expected


def test_csv_lines_escape_text_and_keep_numbers_and_dates():
    text = "".join(
        csv_lines(
            ["name", "phone", "amount", "due", "ok"],
            [
                [
                    "=cmd|' /C calc'!A0",
                    "+573001234567",
                    Decimal("-5.00"),
                    datetime.date(2026, 1, 2),
                    True,
                ]
            ],
        )
    )
    assert not text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["'=cmd|' /C calc'!A0", "+573001234567", "-5.00", "2026-01-02", "yes"]


def test_xlsx_cells_are_text_never_formulas(tmp_path):
    path = tmp_path / "out.xlsx"
    write_xlsx(path, header=["a", "b", "c"], rows=[["=SUM(1)", "+573001234567", 5]])
    sheet = load_workbook(path).active
    assert [(cell.value, cell.data_type) for cell in sheet[2]] == [
        ("'=SUM(1)", "s"),
        ("+573001234567", "s"),
        (5, "n"),
    ]


@pytest.mark.parametrize(
    ("locale", "layout"),
    [
        ("es", "semicolon"),
        ("es-co", "semicolon"),
        ("es_ES", "semicolon"),
        ("es-mx", "comma"),
        ("en-us", "comma"),
        ("en", "comma"),
        ("xx-nowhere", "comma"),
    ],
)
def test_the_csv_layout_follows_the_locales_decimal_mark(locale, layout):
    assert csv_format_for_locale(locale) == layout


def test_a_semicolon_csv_starts_with_a_bom_and_writes_decimal_commas():
    text = "".join(
        csv_lines(
            ["name", "amount", "count"],
            [["Peña; Hermanos", Decimal("1030000.50"), 3], ["Ana", Decimal("-5.00"), 0]],
            CSV_FORMATS["semicolon"],
        )
    )
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";"))
    assert rows == [
        ["name", "amount", "count"],
        ["Peña; Hermanos", "1030000,50", "3"],
        ["Ana", "-5,00", "0"],
    ]


def test_yes_and_no_and_the_header_are_written_in_the_active_language(spanish_catalog):
    spanish_catalog({"yes": "sí", "no": "no", "name": "nombre"})
    with translation.override("es"):
        lines = csv_lines([_("name"), "ok"], [["Ana", True], ["Bea", False]])
    # The rows stream later, outside the language: what they print was fixed when asked.
    rows = list(csv.reader(io.StringIO("".join(lines))))
    assert rows == [["nombre", "ok"], ["Ana", "sí"], ["Bea", "no"]]
