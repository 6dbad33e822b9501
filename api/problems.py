"""Errors as RFC 9457 problem details (`application/problem+json`), never an HTML page."""

import logging
import math
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"
TYPE_BASE = "urn:whatsmassive:problem:"


class Conflict(exceptions.APIException):
    """The object is not in a state that allows the change (e.g. a second start)."""

    status_code = status.HTTP_409_CONFLICT
    default_detail = "The object's current state does not allow this."
    default_code = "conflict"

    def __init__(self, detail: str, **extensions: object) -> None:
        super().__init__(detail)
        self.extensions = extensions


class Unprocessable(exceptions.APIException):
    """Well-formed, but not acceptable as a whole (rows that fail, a reused key)."""

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = "The request cannot be processed."
    default_code = "unprocessable"

    def __init__(self, detail: str, *, code: str = "unprocessable", **extensions: object) -> None:
        super().__init__(detail, code)
        self.problem_code = code
        self.extensions = extensions


class Refused(exceptions.ValidationError):
    """Input the schema takes that the product's rules refuse: 422, with per-field errors.

    An unknown pool, a phone that is not a phone, a host name that does not resolve: no
    schema can say so. 400 stays for input that does not match the schema itself.
    """

    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_code = "refused"


class PayloadTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def problem(
    status_code: int, code: str, title: str, detail: str, **extensions: Any
) -> dict[str, Any]:
    return {
        "type": f"{TYPE_BASE}{code.replace('_', '-')}",
        "title": title,
        "status": status_code,
        "detail": detail,
        **extensions,
    }


def _field_errors(detail: Any) -> dict[str, list[str]]:
    """DRF's nested error detail as {"field.sub": ["message", ...]}."""
    errors: dict[str, list[str]] = {}

    def walk(value: Any, path: str) -> None:
        if isinstance(value, dict):
            for key, item in value.items():
                walk(item, f"{path}.{key}" if path else str(key))
        elif isinstance(value, list) and value and not all(isinstance(item, str) for item in value):
            for index, item in enumerate(value):
                if item:
                    walk(item, f"{path}.{index}" if path else str(index))
        else:
            items = value if isinstance(value, list) else [value]
            errors.setdefault(path or "non_field_errors", []).extend(str(i) for i in items)

    walk(detail, "")
    return errors


def _as_api_exception(exc: Exception) -> exceptions.APIException | None:
    if isinstance(exc, exceptions.APIException):
        return exc
    if isinstance(exc, Http404):
        return exceptions.NotFound()
    if isinstance(exc, DjangoPermissionDenied):
        return exceptions.PermissionDenied(str(exc) or None)
    if isinstance(exc, DjangoValidationError):
        return Refused(
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
    if isinstance(exc, RequestDataTooBig):
        return PayloadTooLarge()
    return None


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    api_exc = _as_api_exception(exc)
    if api_exc is None:
        logger.exception("API request failed", exc_info=exc)
        body = problem(500, "internal_error", "Internal error", "The server failed; try later.")
        return Response(body, status=500, content_type=PROBLEM_CONTENT_TYPE)
    headers: dict[str, str] = {}
    auth_header = getattr(api_exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(api_exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(max(1, math.ceil(wait)))
    code = str(getattr(api_exc, "problem_code", None) or api_exc.default_code)
    title = status_title(api_exc.status_code)
    extensions: dict[str, Any] = dict(getattr(api_exc, "extensions", {}))
    if isinstance(api_exc, exceptions.ValidationError):
        detail = (
            _("Some fields are refused; see errors.")
            if isinstance(api_exc, Refused)
            else "Some fields are not valid; see errors."
        )
        extensions["errors"] = _field_errors(api_exc.detail)
    else:
        detail = str(api_exc.detail)
    body = problem(api_exc.status_code, code, title, detail, **extensions)
    return Response(
        body, status=api_exc.status_code, headers=headers, content_type=PROBLEM_CONTENT_TYPE
    )


def status_title(status_code: int) -> str:
    return HTTPStatus(status_code).phrase


@csrf_exempt
def not_found(request: HttpRequest, path: str = "") -> JsonResponse:
    """Any /api/ address no route serves: a problem, not Django's HTML 404 page."""
    body = problem(404, "not_found", "Not Found", f"No API resource at {request.path}.")
    return JsonResponse(body, status=404, content_type=PROBLEM_CONTENT_TYPE)
