import pytest
from django.urls import reverse

from sessions_app.models import WhatsAppSession
from tests.factories import WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


def test_connect_and_disconnect_actions_set_what_the_operator_wants(client, staff_user):
    account = WhatsAppSessionFactory()
    client.force_login(staff_user)
    url = reverse("admin:sessions_app_whatsappsession_changelist")
    client.post(url, {"action": "connect", "_selected_action": [account.pk]})
    assert WhatsAppSession.objects.get(pk=account.pk).should_run
    client.post(url, {"action": "disconnect", "_selected_action": [account.pk]})
    assert not WhatsAppSession.objects.get(pk=account.pk).should_run


def test_simulated_scan_explains_when_no_qr_is_waiting(client, staff_user):
    account = WhatsAppSessionFactory()
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:sessions_app_whatsappsession_changelist"),
        {"action": "simulate_scan", "_selected_action": [account.pk]},
        follow=True,
    )
    assert "Simulated scans exist only for sandbox accounts" in response.content.decode()
