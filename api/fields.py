"""Fields of the JSON bodies clients send. Each takes the JSON type the schema gives it and no
other: DRF's own fields would read 5 as "5" and "5" as 5, accepting what the schema excludes.
A debtor's values are the exception, as wide as a cell of an imported file: text, or (where a
spreadsheet holds numbers) a number."""

from decimal import Decimal as DecimalValue
from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction
from rest_framework import serializers

from debtors.bulk import CELL_NUMBER_LIMIT, cell_takes_numbers


class Text(serializers.CharField):
    default_error_messages = {"invalid": _("Must be text (a JSON string).")}

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Integer(serializers.IntegerField):
    default_error_messages = {"invalid": _("Must be a whole number (a JSON integer).")}

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool) or not isinstance(data, int):
            self.fail("invalid")
        return super().to_internal_value(data)


class Decimal(serializers.DecimalField):
    """Written as text, as the API writes it, so no digit is lost to a binary fraction."""

    default_error_messages = {"invalid": _('Must be a number written as text, e.g. "1500.00".')}

    def to_internal_value(self, data: Any) -> DecimalValue:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class Boolean(serializers.BooleanField):
    default_error_messages = {"invalid": _("Must be true or false.")}

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            self.fail("invalid")
        return data


class Cell(serializers.CharField):
    """A debtor's value as the cell of an imported file holds it, for the schema: the rows are
    judged by the import's own rules (`debtors.bulk`), which answer each bad one with its
    reason. A number may stand for the text where `cell_takes_numbers` says (with `numbers=True`,
    in any field: an extra column)."""

    def __init__(self, *, numbers: bool | None = None, **kwargs: Any) -> None:
        self.numbers = numbers
        super().__init__(**kwargs)

    def takes_numbers(self) -> bool:
        return cell_takes_numbers(self.field_name or "", self.numbers)


class CellSchema(OpenApiSerializerFieldExtension):
    """A cell that takes numbers is text or a number of at most 15 digits."""

    target_class = Cell

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        text: dict[str, Any] = auto_schema._map_serializer_field(  # type: ignore[no-untyped-call]
            self.target, direction, bypass_extensions=True
        )
        if not self.target.takes_numbers():
            return text
        # The field's length limits belong to its text; what describes the field, to the whole.
        auto_schema._insert_field_validators(self.target, text)  # type: ignore[no-untyped-call]
        text.pop("description", None)
        text.pop("nullable", None)
        number = {"type": "number", "minimum": -CELL_NUMBER_LIMIT, "maximum": CELL_NUMBER_LIMIT}
        return {"oneOf": [text, number]}
