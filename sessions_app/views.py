from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from sessions_app.models import STRATEGY_HELP, Pool, WhatsAppSession


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
