from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campaigns.selectors import campaign_progress, campaigns_running
from sessions_app.models import SessionStatus, WhatsAppSession
from whatsmassive.models import LogLevel
from whatsmassive.selectors import count_by, system_log_list, system_log_recent_errors


def dashboard(request: HttpRequest) -> HttpResponse:
    sessions_by_status = count_by(WhatsAppSession.objects.all(), "status")
    running = [(campaign, campaign_progress(campaign=campaign)) for campaign in campaigns_running()]
    return render(
        request,
        "whatsmassive/dashboard.html",
        {
            "session_states": [
                (status, sessions_by_status.get(status.value, 0)) for status in SessionStatus
            ],
            "running": running,
            "recent_errors": system_log_recent_errors(),
        },
    )


def log_list(request: HttpRequest) -> HttpResponse:
    level_param = request.GET.get("level", "")
    min_level = int(level_param) if level_param.isdigit() else None
    search = request.GET.get("q", "").strip()
    page = Paginator(system_log_list(min_level=min_level, search=search), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "whatsmassive/logs.html",
        {"page": page, "levels": LogLevel.choices, "level": min_level, "q": search},
    )
