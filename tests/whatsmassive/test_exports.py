import csv
import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from whatsmassive.exports import csv_lines, escape_cell, write_xlsx


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
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
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
