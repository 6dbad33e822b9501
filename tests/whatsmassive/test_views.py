import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from campaigns.models import CampaignStatus, MessageStatus
from sessions_app.models import SessionStatus
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    MessageFactory,
    PoolMemberFactory,
    SystemLogFactory,
    WhatsAppSessionFactory,
    replied_message,
)
from whatsmassive.models import LogLevel, SystemLog

pytestmark = pytest.mark.django_db

PAGES = ["dashboard", "session_list", "pool_list", "campaign_list", "debtor_list", "log_list"]


@pytest.mark.parametrize("name", PAGES)
def test_pages_send_anonymous_users_to_the_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("name", PAGES)
def test_pages_render_for_a_logged_in_operator(client, operator, name):
    PoolMemberFactory()
    MessageFactory()
    client.force_login(operator)
    response = client.get(reverse(name))
    assert response.status_code == 200
    assert b'aria-current="page"' in response.content


def test_login_page_logs_an_operator_in(client, operator):
    response = client.post(
        reverse("login"), {"username": operator.username, "password": "correct horse battery"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard")


def test_dashboard_shows_running_campaign_progress_and_recent_errors(client, operator):
    campaign = CampaignFactory(name="Cobro noviembre", status=CampaignStatus.RUNNING)
    CampaignFactory(name="Borrador", status=CampaignStatus.DRAFT)
    MessageFactory(campaign=campaign, status="sent")
    MessageFactory(campaign=campaign)
    SystemLog.objects.create(level=LogLevel.ERROR, source="engine", message="Chromium crashed")
    client.force_login(operator)
    text = client.get(reverse("dashboard")).content.decode()
    assert f'id="campaign-{campaign.pk}-bar"' in text
    assert "Cobro noviembre" in text
    assert "Borrador" not in text
    assert "Chromium crashed" in text
    assert 'ws-connect="/ws/dashboard/"' in text


def test_dashboard_shows_accounts_by_state_todays_sends_and_the_chart(client, operator):
    account = WhatsAppSessionFactory(name="Cobranzas 1", status=SessionStatus.CONNECTED)
    WhatsAppSessionFactory(status=SessionStatus.WAITING_QR)
    MessageFactory(session=account, status=MessageStatus.SENT, sent_at=timezone.now())
    MessageFactory(session=account, status=MessageStatus.FAILED, failed_at=timezone.now())
    client.force_login(operator)
    text = client.get(reverse("dashboard")).content.decode()
    assert 'id="dashboard-accounts"' in text
    assert "1 needs attention" in text
    assert "Cobranzas 1" in text
    assert '<svg class="sends-chart"' in text
    assert "1 sent, 1 failed." in text  # the chart's text summary


DASHBOARD_FRAGMENTS = ["accounts", "running", "results", "chart", "today", "errors"]


@pytest.mark.parametrize("fragment", DASHBOARD_FRAGMENTS)
def test_dashboard_fragments_return_only_their_area_to_htmx(client, operator, fragment):
    client.force_login(operator)
    response = client.get(reverse("dashboard"), {"fragment": fragment}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert response.status_code == 200
    assert text.lstrip().startswith(f'<div id="dashboard-{fragment}"')
    assert "<nav" not in text
    assert "<h1" not in text


def test_dashboard_polling_fragments_ask_for_themselves(client, operator):
    client.force_login(operator)
    text = client.get(reverse("dashboard")).content.decode()
    for fragment in DASHBOARD_FRAGMENTS:
        assert f'hx-get="{reverse("dashboard")}?fragment={fragment}"' in text
    assert text.count('hx-trigger="every 30s"') == 3  # chart, today, errors


def test_dashboard_shows_the_results_of_the_last_week(client, operator):
    now = timezone.now()
    for n in range(4):
        if n < 2:
            replied_message(status="read", sent_at=now, replied_at=now)
        else:
            MessageFactory(status="read", sent_at=now)
    replied_message(status="read", sent_at=now - datetime.timedelta(days=8), replied_at=now)
    client.force_login(operator)
    text = client.get(reverse("dashboard"), {"fragment": "results"}).content.decode()
    assert '<strong>2</strong> <span class="muted">50.0%</span>' in text
    assert "Of 4 messages sent, every campaign." in text


def test_a_fragment_url_answers_with_the_fragment_without_htmx_too(client, operator):
    client.force_login(operator)
    text = client.get(reverse("dashboard"), {"fragment": "accounts"}).content.decode()
    assert text.lstrip().startswith('<div id="dashboard-accounts"')


def test_an_unknown_dashboard_fragment_gets_the_whole_page(client, operator):
    client.force_login(operator)
    response = client.get(reverse("dashboard"), {"fragment": "nope"}, HTTP_HX_REQUEST="true")
    assert "<nav" in response.content.decode()


def test_debtor_search_matches_name_phone_and_reference(client, operator):
    DebtorFactory(name="Lucía Restrepo", phone_e164="+573001112233", reference="CR-1")
    DebtorFactory(name="Iván Peña", phone_e164="+573009998877", reference="CR-2")
    client.force_login(operator)
    for query in ["Lucía", "3001112233", "CR-1"]:
        text = client.get(reverse("debtor_list"), {"q": query}).content.decode()
        assert "Lucía Restrepo" in text
        assert "Iván Peña" not in text


def test_names_are_escaped_on_pages(client, operator):
    DebtorFactory(name="<script>alert(1)</script>")
    client.force_login(operator)
    text = client.get(reverse("debtor_list")).content.decode()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;" in text


def test_logs_filter_by_level_source_and_text(client, operator):
    SystemLog.objects.create(level=LogLevel.INFO, source="a", message="campaign started")
    SystemLog.objects.create(level=LogLevel.ERROR, source="b", message="campaign failed")
    client.force_login(operator)
    text = client.get(reverse("log_list"), {"level": LogLevel.ERROR}).content.decode()
    assert "campaign failed" in text
    assert "campaign started" not in text
    text = client.get(reverse("log_list"), {"q": "started"}).content.decode()
    assert "campaign started" in text
    assert "campaign failed" not in text
    text = client.get(reverse("log_list"), {"source": "b"}).content.decode()
    assert "campaign failed" in text
    assert "campaign started" not in text
    assert '<option value="b" selected>' in text


def test_the_log_filter_swaps_only_the_results_for_htmx(client, operator):
    SystemLogFactory(message="Account linked")
    client.force_login(operator)
    response = client.get(reverse("log_list"), {"q": "linked"}, HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert text.lstrip().startswith('<div id="log-results"')
    assert "Account linked" in text
    assert "<nav" not in text
    assert 'name="q"' not in text  # the filter form stays as it is


def test_logs_show_newest_first_with_a_live_tail_on_the_first_page(client, operator):
    older = SystemLogFactory(message="older entry")
    newest = SystemLogFactory(message="newest entry")
    client.force_login(operator)
    text = client.get(reverse("log_list")).content.decode()
    assert text.index("newest entry") < text.index("older entry")
    assert f'after={newest.pk}"' in text
    assert 'id="log-live" checked' in text
    assert older.pk < newest.pk


def test_the_live_tail_is_off_by_default_while_searching(client, operator):
    SystemLogFactory(message="Account linked")
    client.force_login(operator)
    text = client.get(reverse("log_list"), {"q": "linked"}).content.decode()
    assert 'id="log-live"' in text
    assert 'id="log-live" checked' not in text
    assert "q=linked&amp;after=" in text  # the tail keeps the search


def test_later_pages_have_no_live_tail(client, operator):
    SystemLogFactory.create_batch(51)
    client.force_login(operator)
    text = client.get(reverse("log_list"), {"page": 2}).content.decode()
    assert 'id="log-tail"' not in text
    assert 'id="log-live"' not in text


def test_the_live_tail_returns_only_newer_matching_rows_and_moves_on(client, operator):
    shown = SystemLogFactory(level=LogLevel.ERROR, message="already shown")
    SystemLogFactory(level=LogLevel.INFO, message="too quiet")
    newer = SystemLogFactory(level=LogLevel.ERROR, message="new failure")
    client.force_login(operator)
    response = client.get(
        reverse("log_list"),
        {"level": LogLevel.ERROR, "after": shown.pk},
        HTTP_HX_REQUEST="true",
    )
    text = response.content.decode()
    assert text.lstrip().startswith('<tr id="log-tail"')
    assert "new failure" in text
    assert "already shown" not in text
    assert "too quiet" not in text
    assert "<nav" not in text
    assert f"level={LogLevel.ERROR}&amp;after={newer.pk}" in text

    again = client.get(reverse("log_list"), {"after": newer.pk}, HTTP_HX_REQUEST="true")
    assert "log-row" not in again.content.decode()
    assert f"after={newer.pk}" in again.content.decode()


def test_log_context_links_to_campaign_and_account_pages(client, operator):
    SystemLogFactory(
        message="Send failed",
        context={"campaign_id": 12, "session_id": 3, "message_id": 99, "traceback": "a\nb"},
    )
    SystemLogFactory(message="No context")
    client.force_login(operator)
    text = client.get(reverse("log_list")).content.decode()
    assert text.count("<details") == 1
    assert '<a href="/campaigns/12/">12</a>' in text
    assert '<a href="/sessions/3/">3</a>' in text
    assert "<code>99</code>" in text
    assert "<pre>a\nb</pre>" in text


def test_log_messages_are_escaped(client, operator):
    SystemLogFactory(message="<img src=x onerror=alert(1)>", context={"k": "<b>"})
    client.force_login(operator)
    text = client.get(reverse("log_list")).content.decode()
    assert "<img src=x" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    assert "<code>&lt;b&gt;</code>" in text
