import datetime
from decimal import Decimal

import pytest

from debtors.imports.values import CellError, header_key, parse_amount, parse_date, parse_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("300 123 4567", "+573001234567"),
        ("300-123-4567", "+573001234567"),
        ("300.123.4567", "+573001234567"),
        ("(300) 123 4567", "+573001234567"),
        ("+57 300 123 4567", "+573001234567"),
        ("0057 300 123 4567", "+573001234567"),
        ("573001234567", "+573001234567"),
        ("3001234567.0", "+573001234567"),
        (3001234567.0, "+573001234567"),
        (3001234567, "+573001234567"),
        ("3.001234567E+09", "+573001234567"),
        ("\u00a0300 123 4567 ", "+573001234567"),
        ("601 234 5678", "+576012345678"),
        ("+573001234567", "+573001234567"),
        ("tel:+57-300-123-4567", "+573001234567"),
        ("TEL:+57.300.123.4567", "+573001234567"),
        ("tel:+57-300-123-4567;ext=102", "+573001234567"),
        ("tel:+57(300)1234567;isub=1;phone-context=example.com", "+573001234567"),
        ("tel:300-123-4567;phone-context=+57", "+573001234567"),
        ("tel:3001234567", "+573001234567"),
        ("tel:+52-1-55-1234-5678", "+525512345678"),  # Mexico's old mobile 1 dropped
        ("+52 55 1234 5678", "+525512345678"),
    ],
)
def test_phones_written_any_common_way_become_e164(raw, expected):
    assert parse_phone(raw, region="CO") == expected


def test_the_national_trunk_prefix_is_dropped_for_the_region():
    assert parse_phone("020 7946 0018", region="GB") == "+442079460018"
    assert parse_phone("011 2345-6789", region="AR") == "+541123456789"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("3.00123E+09", "scientific notation"),
        ("", "blank"),
        (None, "blank"),
        ("call me", "not a phone number"),
        ("12345", "not a valid phone number for region CO"),
        ("300 123 45", "not a valid phone number"),
        (3001234567.5, "not a phone number"),
    ],
)
def test_invalid_phones_are_rejected_with_a_reason(raw, reason):
    with pytest.raises(CellError, match=reason):
        parse_phone(raw, region="CO")


# Every amount shape a collection team's files carry, and what each one must become.
ACCEPTED_AMOUNTS = [
    ("1.234,56", "1234.56", None),  # Colombia, Spain: `.` groups, `,` decimal
    ("1,234.56", "1234.56", None),  # US, Mexico
    ("1 234 567,89", "1234567.89", None),  # space groups (France, Excel with fr locale)
    ("1\u00a0234,56", "1234.56", None),  # no-break space, as Excel writes it
    ("1'234.50", "1234.50", None),  # Switzerland
    ("$ 1 234", "1234.00", None),
    ("$1.234.567", "1234567.00", None),
    ("1.234", "1234.00", None),  # one mark and three digits: thousands
    ("1,000,000.00", "1000000.00", None),
    ("1,5", "1.50", None),
    ("1234.5", "1234.50", None),
    ("0,75", "0.75", None),
    ("0.750", "0.75", None),  # a leading zero is never a thousands group
    ("150000.0000", "150000.00", None),  # SQL money columns: zeros past the cent
    ("COP 150.000", "150000.00", "COP"),
    ("150000 COP", "150000.00", "COP"),
    ("usd 12,50", "12.50", "USD"),
    ("US$ 12", "12.00", None),
    ("€12,50", "12.50", None),
    ("12 €", "12.00", None),
    ("+5", "5.00", None),
    ("0", "0.00", None),
    (1234.56, "1234.56", None),  # numeric spreadsheet cells
    (1234.567, "1234.57", None),  # a formula's result, rounded as the sheet shows it
    (150000, "150000.00", None),
]
REFUSED_AMOUNTS = [
    ("12abc", "not a number"),
    ("12 abc", "not a number"),
    ("abc 12", "not a number"),
    ("1.2.3,4", "not a number"),
    ("1,234,56", "not a number"),  # the same mark cannot group and be the decimal
    ("1.2.3,4,5", "not a number"),
    ("--5", "not a number"),
    ("+-5", "not a number"),
    ("12e5", "not a number"),
    (".5", "not a number"),
    ("12,", "not a number"),
    ("5 5", "not a number"),
    ("$ $ 5", "not a number"),
    ("COP 5 USD", "not a number"),
    ("(5", "not a number"),
    ("mucho", "not a number"),
    ("\uff11\uff12", "not a number"),  # full-width digits
    ("1234.567", "more than 2 decimals"),
    ("12,3456", "more than 2 decimals"),
    ("-100", "negative"),
    ("(100)", "negative"),
    ("100-", "negative"),
    ("$-5", "negative"),
    ("-$5", "negative"),
    (-5, "negative"),
    ("", "blank"),
    (None, "blank"),
    (True, "not a number"),
    (float("nan"), "not a number"),
    (float("inf"), "not a number"),
    ("9999999999999", "too large"),
]


@pytest.mark.parametrize(("raw", "expected", "currency"), ACCEPTED_AMOUNTS)
def test_amounts_in_known_local_formats_are_read_exactly(raw, expected, currency):
    assert parse_amount(raw) == (Decimal(expected), currency)


@pytest.mark.parametrize(("raw", "reason"), REFUSED_AMOUNTS)
def test_a_cell_that_is_not_wholly_one_number_is_refused(raw, reason):
    with pytest.raises(CellError, match=reason):
        parse_amount(raw)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2026-12-15", datetime.date(2026, 12, 15)),
        ("2026-12-15 00:00:00", datetime.date(2026, 12, 15)),
        ("15/12/2026", datetime.date(2026, 12, 15)),
        ("5/1/2027", datetime.date(2027, 1, 5)),
        ("46006", datetime.date(2025, 12, 15)),
        (46006.0, datetime.date(2025, 12, 15)),
        (datetime.datetime(2026, 12, 15, 10, 30, tzinfo=datetime.UTC), datetime.date(2026, 12, 15)),
        ("", None),
        (None, None),
    ],
)
def test_dates_in_iso_day_first_and_excel_serial_forms_are_read(raw, expected):
    assert parse_date(raw) == expected


@pytest.mark.parametrize("raw", ["31/02/2026", "next week", "12", "2026/31/31"])
def test_unreadable_dates_are_rejected(raw):
    with pytest.raises(CellError):
        parse_date(raw)


def test_headers_become_placeholder_keys():
    assert header_key("Ciudad de Residencia") == "ciudad_de_residencia"
    assert header_key("Teléfono (móvil)") == "telefono_movil"
