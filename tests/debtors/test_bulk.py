import pytest

from debtors.bulk import cell_text


@pytest.mark.parametrize(
    ("value", "field", "text"),
    [
        (None, "name", ""),
        ("Ana", "name", "Ana"),
        (3001234567, "phone", "3001234567"),
        (1500, "amount", "1500"),
        (1.5, "amount", "1.5"),
        (1234.56, "amount", "1234.56"),
        (77, "reference", "77"),
        (999_999_999_999_999, "phone", "999999999999999"),
    ],
)
def test_a_value_becomes_the_text_its_cell_would_hold(value, field, text):
    assert cell_text(value, field) == text


@pytest.mark.parametrize(
    ("value", "field", "reason"),
    [
        (True, "phone", "phone must be text"),
        ({"a": 1}, "name", "name must be text"),
        ([1], "amount", "amount must be text"),
        # Where a spreadsheet holds no numbers, a number is a mistake, not a value.
        (12, "name", "name must be text"),
        (840, "currency", "currency must be text"),
        (20270131, "due_date", "due_date must be text"),
        # Past 15 digits a JSON number no longer keeps every digit of a phone.
        (10**15, "phone", "phone has more than 15 digits: send it as text"),
        (-1e300, "reference", "reference has more than 15 digits: send it as text"),
        (float("inf"), "amount", "amount has more than 15 digits: send it as text"),
        # "1.125" would read as 1,125 in a Colombian file.
        (1.125, "amount", "amount has more than 2 decimal places"),
    ],
)
def test_a_value_no_cell_would_hold_is_refused_with_its_reason(value, field, reason):
    with pytest.raises(ValueError, match=f"^{reason}$"):
        cell_text(value, field)


def test_an_extra_column_takes_numbers_whatever_its_name():
    assert cell_text(3, "cuotas", numbers=True) == "3"
    with pytest.raises(ValueError, match="must be text"):
        cell_text(3, "cuotas")
