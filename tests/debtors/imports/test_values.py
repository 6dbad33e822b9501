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


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1.234,56", Decimal("1234.56")),
        ("1,234.56", Decimal("1234.56")),
        ("$ 1 234", Decimal("1234.00")),
        ("$1.234.567", Decimal("1234567.00")),
        ("1.234", Decimal("1234.00")),
        ("1,5", Decimal("1.50")),
        ("1234.5", Decimal("1234.50")),
        ("0,75", Decimal("0.75")),
        ("COP 150.000", Decimal("150000.00")),
        ("150000 COP", Decimal("150000.00")),
        ("0", Decimal("0.00")),
        (1234.56, Decimal("1234.56")),
        (150000, Decimal("150000.00")),
    ],
)
def test_amounts_in_local_and_english_formats_are_read(raw, expected):
    assert parse_amount(raw) == expected


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("-100", "negative"),
        ("(100)", "negative"),
        ("100-", "negative"),
        ("", "blank"),
        (None, "blank"),
        ("mucho", "not a number"),
        ("1.2.3,4,5", "not a number"),
        ("9999999999999", "too large"),
    ],
)
def test_bad_amounts_are_rejected_with_a_reason(raw, reason):
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
