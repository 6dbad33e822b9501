"""Keyset pagination: a page is "rows after this one" in a fixed order, never an OFFSET.

Stable under inserts (a row added meanwhile never shifts a page) and as cheap for the
thousandth page as for the first. The cursor is opaque to clients.
"""

import base64
import datetime
import json
from typing import Any

from django.db.models import Model, Q, QuerySet
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.problems import Refused

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000


class PageQuery(serializers.Serializer[Any]):
    cursor = serializers.CharField(required=False, allow_blank=True, max_length=500)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT)


def _encode(values: list[Any]) -> str:
    plain = [v.isoformat() if isinstance(v, datetime.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def _decode(cursor: str, fields: list[str]) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(values, list) or len(values) != len(fields):
            raise ValueError
        return [
            datetime.datetime.fromisoformat(v)
            if field.endswith("_at")
            else int(v)
            if field == "id"
            else v
            for field, v in zip(fields, values, strict=True)
        ]
    except (ValueError, TypeError, UnicodeDecodeError) as exc:
        raise Refused({"cursor": ["Not a cursor this API gave out."]}) from exc


def _after(fields: list[str], values: list[Any]) -> Q:
    """(a, b) > (x, y) as a filter: a > x OR (a = x AND b > y)."""
    condition = Q()
    for index, field in enumerate(fields):
        step = Q(**{f"{field}__gt": values[index]})
        for previous in range(index):
            step &= Q(**{fields[previous]: values[previous]})
        condition |= step
    return condition


def keyset_page(
    request: Request,
    queryset: QuerySet[Any],
    serializer_class: type[serializers.BaseSerializer[Any]],
    *,
    fields: tuple[str, ...] = ("id",),
) -> Response:
    """One page of `queryset` ordered by `fields` (ascending, the last one unique)."""
    query = PageQuery(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    order = list(fields)
    limit = query.validated_data.get("limit") or DEFAULT_LIMIT
    cursor = query.validated_data.get("cursor") or ""
    if cursor:
        queryset = queryset.filter(_after(order, _decode(cursor, order)))
    rows: list[Model] = list(queryset.order_by(*order)[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode([getattr(rows[-1], f) for f in order]) if more and rows else None
    if not more and rows and "updated_at" in order:
        # A sync client keeps the last cursor and asks again later for what changed since.
        next_cursor = _encode([getattr(rows[-1], f) for f in order])
    data = serializer_class(rows, many=True, context={"request": request}).data
    return Response({"results": data, "next_cursor": next_cursor, "has_more": more})


def page_schema(item: type[serializers.BaseSerializer[Any]]) -> type[serializers.Serializer[Any]]:
    """The response schema of a page of `item`s."""
    name = item.__name__.removesuffix("Serializer") + "Page"
    return type(
        name,
        (serializers.Serializer,),
        {
            "results": item(many=True),
            "next_cursor": serializers.CharField(allow_null=True),
            "has_more": serializers.BooleanField(),
        },
    )
