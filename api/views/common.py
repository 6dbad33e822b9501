from typing import Any

from django.db.models import Model, QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import serializers
from rest_framework.request import Request


def get_or_404[ModelT: Model](queryset: QuerySet[ModelT] | type[ModelT], pk: int) -> ModelT:
    return get_object_or_404(queryset, pk=pk)


def valid(serializer_class: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    """The validated data, or a 400 problem naming each bad field."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def query(request: Request, serializer_class: type[serializers.Serializer[Any]]) -> dict[str, Any]:
    """The query's filters as the schema states them: a filter given blank is refused (400)
    like any other value the schema excludes, not read as "no filter" as a form would."""
    return valid(serializer_class, request.query_params.dict())
