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
