import re
from decimal import Decimal
from typing import Any

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework import serializers

from api import fields


class Body(serializers.Serializer[Any]):
    text = fields.Text(required=False)
    integer = fields.Integer(required=False)
    decimal = fields.Decimal(max_digits=6, decimal_places=2, required=False)
    boolean = fields.Boolean(required=False)


@pytest.mark.parametrize(
    ("name", "good", "message", "others"),
    [
        ("text", "5", "Must be text (a JSON string).", [5, 5.5, True, [], {}]),
        ("integer", 5, "Must be a whole number (a JSON integer).", ["5", 5.0, True, [], {}]),
        (
            "decimal",
            "5.50",
            'Must be a number written as text, e.g. "1500.00".',
            [5, 5.5, True, [], {}],
        ),
        ("boolean", False, "Must be true or false.", ["true", 1, 0, "on", [], {}]),
    ],
)
def test_a_field_takes_its_json_type_and_no_other(name, good, message, others):
    accepted = Body(data={name: good})
    assert accepted.is_valid(), accepted.errors
    assert accepted.validated_data[name] == (Decimal(good) if name == "decimal" else good)
    for other in others:
        refused = Body(data={name: other})
        assert not refused.is_valid(), other
        assert refused.errors == {name: [message]}, other


def test_a_field_keeps_the_rules_of_the_drf_field_it_narrows():
    body = Body(data={"text": "", "integer": 5, "decimal": "12345.678"})
    assert not body.is_valid()
    assert set(body.errors) == {"text", "decimal"}


def _properties(schema_of):
    return SchemaGenerator().get_schema(request=None, public=True)["components"]["schemas"][
        schema_of
    ]["properties"]


def test_a_cell_that_takes_numbers_is_text_or_a_number_of_15_digits_in_the_schema():
    row = _properties("DebtorInRequest")
    number = {"type": "number", "minimum": -999_999_999_999_999, "maximum": 999_999_999_999_999}
    text, as_number = row["phone"]["oneOf"]
    assert (text["type"], text["maxLength"], as_number) == ("string", 64, number)
    assert row["amount"]["oneOf"][1] == number
    assert "description" in row["amount"]
    assert "description" not in row["amount"]["oneOf"][0]
    assert row["extra"]["additionalProperties"]["oneOf"][1] == number
    # Names, currencies and dates are text only, as the import reads them.
    assert {row[name]["type"] for name in ("name", "currency", "due_date")} == {"string"}


def test_text_that_may_not_be_blank_holds_more_than_white_space_in_the_schema():
    pattern = re.compile(_properties("CampaignInRequest")["name"]["pattern"])
    # DRF trims before it refuses a blank: a control or space character alone is blank.
    assert [
        bool(pattern.search(value)) for value in ("Mora 30", " x ", "\x1f", " \t", "a\x00")
    ] == [
        True,
        True,
        False,
        False,
        False,
    ]
    # Text that may be blank keeps drf-spectacular's own pattern (no NUL), which takes a blank.
    description = _properties("PoolInRequest")["description"]
    assert re.fullmatch(description["pattern"], "")
    assert "oneOf" not in description
