from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.decorators import api_view
from rest_framework.request import Request
from rest_framework.response import Response

from api.idempotency import idempotent
from api.pagination import PageQuery, keyset_page, page_schema
from api.permissions import require
from api.problems import Conflict, Refused
from api.serializers import (
    AccountSerializer,
    PairingCodeInSerializer,
    PairingCodeSerializer,
    PoolInSerializer,
    PoolMemberInSerializer,
    PoolMemberSerializer,
    PoolSerializer,
)
from api.views.common import get_or_404, valid
from sessions_app.models import Pool, PoolMember, SessionStatus, WhatsAppSession
from sessions_app.qr import qr_png
from sessions_app.selectors import session_is_held
from sessions_app.services import (
    pool_create,
    pool_member_add,
    pool_member_remove,
    session_connect,
    session_disconnect,
    session_request_pairing_code,
)


@extend_schema(
    operation_id="accounts_list", parameters=[PageQuery], responses=page_schema(AccountSerializer)
)
@api_view(["GET"])
def account_list(request: Request) -> Response:
    require(request, "sessions_app.view_whatsappsession")
    return keyset_page(request, WhatsAppSession.objects.all(), AccountSerializer)


@extend_schema(responses=AccountSerializer)
@api_view(["GET"])
def account_detail(request: Request, pk: int) -> Response:
    require(request, "sessions_app.view_whatsappsession")
    return Response(AccountSerializer(get_or_404(WhatsAppSession, pk)).data)


@extend_schema(request=None, responses=AccountSerializer)
@api_view(["POST"])
@idempotent
def account_connect(request: Request, pk: int) -> Response:
    require(request, "sessions_app.manage_accounts")
    session = session_connect(session=get_or_404(WhatsAppSession, pk))
    return Response(AccountSerializer(session).data)


@extend_schema(request=None, responses=AccountSerializer)
@api_view(["POST"])
@idempotent
def account_disconnect(request: Request, pk: int) -> Response:
    require(request, "sessions_app.manage_accounts")
    session = session_disconnect(session=get_or_404(WhatsAppSession, pk))
    return Response(AccountSerializer(session).data)


@extend_schema(
    responses={
        (200, "image/png"): OpenApiResponse(description="The QR to scan with the phone"),
        409: OpenApiResponse(description="The account is not waiting for a scan"),
    }
)
@api_view(["GET"])
def account_qr(request: Request, pk: int) -> HttpResponse:
    require(request, "sessions_app.manage_accounts")
    session = get_or_404(WhatsAppSession, pk)
    if session.status != SessionStatus.WAITING_QR or not session.qr_payload:
        raise Conflict("The account is not waiting for a QR scan.", current_status=session.status)
    response = HttpResponse(qr_png(session.qr_payload), content_type="image/png")
    response["Cache-Control"] = "no-store"
    return response


def _pairing(session: WhatsAppSession) -> dict[str, object]:
    return {
        "phone": session.pairing_phone,
        "code": session.pairing_code or None,
        "code_at": session.pairing_code_at,
    }


@extend_schema(
    methods=["POST"],
    request=PairingCodeInSerializer,
    responses={
        202: OpenApiResponse(
            PairingCodeSerializer,
            description="Asked: the account's host asks WhatsApp; GET this address for the code",
        ),
        409: OpenApiResponse(description="The account is not on WhatsApp's login screen"),
    },
)
@extend_schema(
    methods=["GET"],
    responses={
        200: OpenApiResponse(PairingCodeSerializer, description="The code to type on the phone"),
        202: OpenApiResponse(PairingCodeSerializer, description="Asked for, not given yet"),
        409: OpenApiResponse(description="No code: none was asked for, or WhatsApp gave none"),
    },
)
@api_view(["GET", "POST"])
@idempotent
def account_pairing_code(request: Request, pk: int) -> Response:
    """Link an account by its phone number instead of the QR code.

    The code comes from the browser of the account's host, which looks for the request
    within a second or so: the POST asks, the GET answers the code once the host has it.
    """
    require(request, "sessions_app.manage_accounts")
    session = get_or_404(WhatsAppSession, pk)
    if request.method == "POST":
        data = valid(PairingCodeInSerializer, request.data)
        if session.status != SessionStatus.WAITING_QR or not session_is_held(session=session):
            raise Conflict(
                _("The account is not waiting to be linked: connect it first."),
                current_status=session.status,
            )
        session = session_request_pairing_code(
            session=session, phone=data["phone"], by=request.user
        )
        return Response(
            PairingCodeSerializer(_pairing(session)).data,
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": request.build_absolute_uri()},
        )
    if session.pairing_code:
        return Response(PairingCodeSerializer(_pairing(session)).data)
    if session.pairing_phone:
        return Response(PairingCodeSerializer(_pairing(session)).data, status.HTTP_202_ACCEPTED)
    if session.pairing_code_at is not None:
        # The host recorded why WhatsApp gave no code (a status change may have replaced it).
        reason = (
            session.status_detail if session.status_detail.startswith("No pairing code") else ""
        )
        raise Conflict(reason or _("WhatsApp gave no pairing code."), current_status=session.status)
    raise Conflict(_("No pairing code was asked for."), current_status=session.status)


@extend_schema(
    methods=["GET"],
    operation_id="pools_list",
    parameters=[PageQuery],
    responses=page_schema(PoolSerializer),
)
@extend_schema(methods=["POST"], request=PoolInSerializer, responses={201: PoolSerializer})
@api_view(["GET", "POST"])
@idempotent
def pool_list(request: Request) -> Response:
    if request.method == "POST":
        require(request, "sessions_app.manage_pools")
        data = valid(PoolInSerializer, request.data)
        pool = pool_create(
            name=data["name"], strategy=data["strategy"], description=data.get("description", "")
        )
        return Response(PoolSerializer(pool).data, status=status.HTTP_201_CREATED)
    require(request, "sessions_app.view_whatsappsession")
    pools = Pool.objects.prefetch_related("members")
    return keyset_page(request, pools, PoolSerializer)


@extend_schema(responses=PoolSerializer)
@api_view(["GET"])
def pool_detail(request: Request, pk: int) -> Response:
    require(request, "sessions_app.view_whatsappsession")
    return Response(PoolSerializer(get_or_404(Pool, pk)).data)


@extend_schema(request=PoolMemberInSerializer, responses={201: PoolMemberSerializer})
@api_view(["POST"])
@idempotent
def pool_members(request: Request, pk: int) -> Response:
    require(request, "sessions_app.manage_pools")
    pool = get_or_404(Pool, pk)
    data = valid(PoolMemberInSerializer, request.data)
    session = WhatsAppSession.objects.filter(pk=data["account"]).first()
    if session is None:
        raise Refused({"account": ["No such account."]})
    member = pool_member_add(pool=pool, session=session, weight=data["weight"])
    return Response(PoolMemberSerializer(member).data, status=status.HTTP_201_CREATED)


@extend_schema(request=None, responses={204: None})
@api_view(["DELETE"])
def pool_member_delete(request: Request, pk: int, member_pk: int) -> Response:
    require(request, "sessions_app.manage_pools")
    member = get_or_404(PoolMember.objects.filter(pool_id=pk), member_pk)
    pool_member_remove(member=member)
    return Response(status=status.HTTP_204_NO_CONTENT)
