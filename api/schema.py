"""Every operation documents its problem responses (`application/problem+json`)."""

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


def _no_nul_in_strings(schema: Any) -> None:
    if isinstance(schema, list):
        for item in schema:
            _no_nul_in_strings(item)
        return
    if not isinstance(schema, dict):
        return
    if schema.get("type") == "string" and not {"enum", "format", "pattern"} & set(schema):
        schema["pattern"] = NO_NUL
    for value in schema.values():
        _no_nul_in_strings(value)


def forbid_nul_in_input(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """What clients send (request bodies, query parameters) is text without NUL."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request"):
            _no_nul_in_strings(component)
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                _no_nul_in_strings(parameter.get("schema"))
            _no_nul_in_strings(operation.get("requestBody"))
    return result
