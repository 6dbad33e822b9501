from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from api.idempotency import idempotent
from api.pagination import PageQuery, keyset_page, page_schema
from api.permissions import require
from api.problems import Refused
from api.serializers import (
    WebhookDeliverySerializer,
    WebhookEndpointCreatedSerializer,
    WebhookEndpointInSerializer,
    WebhookEndpointSerializer,
)
from api.views.common import get_or_404, valid
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import delivery_replay, endpoint_create, endpoint_delete

PERMISSION = "whatsmassive.manage_integrations"


@extend_schema(
    methods=["GET"],
    operation_id="webhooks_list",
    parameters=[PageQuery],
    responses=page_schema(WebhookEndpointSerializer),
)
@extend_schema(
    methods=["POST"],
    request=WebhookEndpointInSerializer,
    responses={201: WebhookEndpointCreatedSerializer},
)
@api_view(["GET", "POST"])
@idempotent
def endpoint_list(request: Request) -> Response:
    require(request, PERMISSION)
    if request.method == "POST":
        data = valid(WebhookEndpointInSerializer, request.data)
        try:
            endpoint = endpoint_create(**data, by=request.user)
        except DjangoValidationError as exc:
            raise Refused(exc.message_dict) from exc
        return Response(
            WebhookEndpointCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED
        )
    return keyset_page(request, WebhookEndpoint.objects.all(), WebhookEndpointSerializer)


@extend_schema(methods=["GET"], responses=WebhookEndpointSerializer)
@extend_schema(methods=["DELETE"], responses={204: None})
@api_view(["GET", "DELETE"])
def endpoint_detail(request: Request, pk: int) -> Response:
    require(request, PERMISSION)
    endpoint = get_or_404(WebhookEndpoint, pk)
    if request.method == "DELETE":
        endpoint_delete(endpoint=endpoint)
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(WebhookEndpointSerializer(endpoint).data)


def _deliveries(endpoint_pk: int) -> QuerySet[WebhookDelivery]:
    return WebhookDelivery.objects.filter(endpoint_id=endpoint_pk).defer("body")


@extend_schema(parameters=[PageQuery], responses=page_schema(WebhookDeliverySerializer))
@api_view(["GET"])
def delivery_list(request: Request, pk: int) -> Response:
    """Newest first would shift pages as deliveries are added: pages go by id, oldest first."""
    require(request, PERMISSION)
    get_or_404(WebhookEndpoint, pk)
    return keyset_page(request, _deliveries(pk), WebhookDeliverySerializer)


@extend_schema(request=None, responses={202: WebhookDeliverySerializer})
@api_view(["POST"])
@idempotent
def delivery_replay_view(request: Request, pk: int, delivery_pk: int) -> Response:
    require(request, PERMISSION)
    delivery = get_or_404(_deliveries(pk), delivery_pk)
    delivery_replay(delivery=delivery)
    delivery = get_or_404(_deliveries(pk), delivery_pk)
    return Response(WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
