"""Every operation documents its problem responses (`application/problem+json`), and the
schemas of what clients send say exactly what the API accepts."""

import re
from collections.abc import Iterator
from typing import Any

PROBLEM = {
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "string"}},
        },
    },
    "additionalProperties": True,
}
STATUSES = {
    "400": "Invalid input",
    "401": "No or bad credentials",
    "403": "Not allowed",
    "404": "Not found",
    "405": "Method not allowed",
    "406": "Not acceptable",
    "409": "Conflict with the current state",
    "413": "Body too large",
    "415": "Unsupported media type",
    "422": "Unprocessable",
    "429": "Too many requests (see Retry-After)",
    "500": "Server error",
}


def add_problem_responses(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            for code, description in STATUSES.items():
                if code in responses:
                    responses[code]["content"] = content
                else:
                    responses[code] = {"description": description, "content": content}
    return result


# PostgreSQL text holds no NUL character, and DRF's text fields refuse it: say so.
NO_NUL = r"^[^\x00]*$"


# drf-spectacular writes a decimal as `^-?\d{0,N}(?:\.\d{0,M})?$`, which admits "-", "." and
# "": DRF refuses them. The same digits, at least one of them.
DECIMAL = re.compile(r"\^-\?\\d\{0,(\d+)\}\(\?:\\\.\\d\{0,(\d+)\}\)\?\$")


def _schemas(schema: Any) -> Iterator[dict[str, Any]]:
    """Every schema object inside `schema`, itself included."""
    if isinstance(schema, list):
        for item in schema:
            yield from _schemas(item)
    elif isinstance(schema, dict):
        yield schema
        for value in schema.values():
            yield from _schemas(value)


def _input_schemas(result: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The schemas of what clients send: request bodies and query parameters."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            yield from _schemas(component)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                yield from _schemas(parameter.get("schema"))
            yield from _schemas(operation.get("requestBody"))


def input_as_accepted(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """What clients send is text without NUL, and decimals hold a digit."""
    for schema in _input_schemas(result):
        if schema.get("type") != "string":
            continue
        if not {"enum", "format", "pattern"} & set(schema):
            schema["pattern"] = NO_NUL
        elif schema.get("format") == "decimal" and (
            match := DECIMAL.fullmatch(schema.get("pattern", ""))
        ):
            whole, fraction = match.groups()
            schema["pattern"] = (
                rf"^-?(?:\d{{1,{whole}}}(?:\.\d{{0,{fraction}}})?|\.\d{{1,{fraction}}})$"
            )
    return result
