from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from sessions_app.models import STRATEGY_HELP, Pool, WhatsAppSession
from sessions_app.qr import qr_png, qr_svg


def session_list(request: HttpRequest) -> HttpResponse:
    return render(
        request, "sessions_app/session_list.html", {"sessions": WhatsAppSession.objects.all()}
    )


def pool_list(request: HttpRequest) -> HttpResponse:
    pools = Pool.objects.annotate(
        member_count=Count("members"),
        enabled_count=Count("members", filter=Q(members__enabled=True)),
    )
    return render(
        request, "sessions_app/pool_list.html", {"pools": pools, "strategy_help": STRATEGY_HELP}
    )


@never_cache
def session_qr(request: HttpRequest, pk: int, fmt: str) -> HttpResponse:
    """The account's current login QR (PNG or SVG); 404 once it is linked."""
    session = get_object_or_404(WhatsAppSession, pk=pk)
    if not session.qr_payload:
        raise Http404("No QR code is waiting to be scanned for this account.")
    if fmt == "svg":
        return HttpResponse(qr_svg(session.qr_payload), content_type="image/svg+xml")
    return HttpResponse(qr_png(session.qr_payload), content_type="image/png")
