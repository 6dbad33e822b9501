import pytest
from django.urls import reverse

from campaigns.models import CampaignStatus
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    MessageFactory,
    PoolMemberFactory,
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
    MessageFactory(campaign=campaign, status="sent")
    MessageFactory(campaign=campaign)
    SystemLog.objects.create(level=LogLevel.ERROR, source="engine", message="Chromium crashed")
    client.force_login(operator)
    text = client.get(reverse("dashboard")).content.decode()
    assert "Cobro noviembre" in text
    assert 'aria-valuenow="50"' in text
    assert "Chromium crashed" in text


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


def test_logs_filter_by_level_and_text(client, operator):
    SystemLog.objects.create(level=LogLevel.INFO, source="a", message="campaign started")
    SystemLog.objects.create(level=LogLevel.ERROR, source="b", message="campaign failed")
    client.force_login(operator)
    text = client.get(reverse("log_list"), {"level": LogLevel.ERROR}).content.decode()
    assert "campaign failed" in text
    assert "campaign started" not in text
    text = client.get(reverse("log_list"), {"q": "started"}).content.decode()
    assert "campaign started" in text
    assert "campaign failed" not in text
