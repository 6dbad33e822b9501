"""Fields of the JSON bodies (and text query filters) clients send. Each takes the JSON type the
schema gives it and no other: DRF's own fields would read 5 as "5" and "5" as 5, accepting what
the schema excludes.
A debtor's values are the exception, as wide as a cell of an imported file: text, or (where a
spreadsheet holds numbers) a number."""

from typing import Any

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction
from rest_framework import serializers

from debtors.bulk import CELL_NUMBER_LIMIT, cell_takes_numbers


class _JSONTyped(serializers.Field[Any, Any, Any, Any]):
    """Refuses a value of another JSON type than `json_type` before the DRF field reads it. A
    boolean is no number here, though Python's `True` is an `int`."""

    json_type: type

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, bool) is not (self.json_type is bool) or not isinstance(
            data, self.json_type
        ):
            self.fail("invalid")
        return super().to_internal_value(data)


class Text(_JSONTyped, serializers.CharField):
    json_type = str
    default_error_messages = {"invalid": _("Must be text (a JSON string).")}


def _drf_mapping(field: Any, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
    """The schema drf-spectacular gives the field without our extensions, to be narrowed."""
    schema: dict[str, Any] = auto_schema._map_serializer_field(  # type: ignore[no-untyped-call]
        field, direction, bypass_extensions=True
    )
    return schema


class TextSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """Text that may not be blank holds something besides white space (DRF trims it first),
    and no NUL character (DRF refuses one). Text that may be blank keeps drf-spectacular's own
    pattern (no NUL): with one set here, it would offer the blank as a second choice, which
    the pattern would take too."""

    target_class = Text

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        schema = _drf_mapping(self.target, auto_schema, direction)
        if self.target.trim_whitespace and not self.target.allow_blank:
            schema["pattern"] = r"^[^\x00]*[^\s\x00][^\x00]*$"
        return schema


class Integer(_JSONTyped, serializers.IntegerField):
    json_type = int
    default_error_messages = {"invalid": _("Must be a whole number (a JSON integer).")}


class Decimal(_JSONTyped, serializers.DecimalField):
    """Written as text, as the API writes it, so no digit is lost to a binary fraction."""

    json_type = str
    default_error_messages = {"invalid": _('Must be a number written as text, e.g. "1500.00".')}


class Boolean(_JSONTyped, serializers.BooleanField):
    json_type = bool
    default_error_messages = {"invalid": _("Must be true or false.")}


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


class CellSchema(OpenApiSerializerFieldExtension):  # type: ignore[no-untyped-call]
    """A cell that takes numbers is text or a number of at most 15 digits."""

    target_class = Cell

    def map_serializer_field(self, auto_schema: AutoSchema, direction: Direction) -> dict[str, Any]:
        text = _drf_mapping(self.target, auto_schema, direction)
        if not self.target.takes_numbers():
            return text
        # The field's length limits belong to its text; what describes the field, to the whole.
        auto_schema._insert_field_validators(self.target, text)  # type: ignore[no-untyped-call]
        text.pop("description", None)
        text.pop("nullable", None)
        number = {"type": "number", "minimum": -CELL_NUMBER_LIMIT, "maximum": CELL_NUMBER_LIMIT}
        return {"oneOf": [text, number]}
