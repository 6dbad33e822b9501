import pytest
from django.urls import reverse
from PIL import Image

from tests.factories import WhatsAppSessionFactory

pytestmark = pytest.mark.django_db

PAYLOAD = "2@abc,def,ghi,jkl"


@pytest.mark.parametrize(("fmt", "content_type"), [("png", "image/png"), ("svg", "image/svg+xml")])
def test_the_waiting_qr_is_served_as_an_image(client, operator, fmt, content_type):
    account = WhatsAppSessionFactory(qr_payload=PAYLOAD)
    client.force_login(operator)
    response = client.get(reverse("session_qr", args=[account.pk, fmt]))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert "no-cache" in response["Cache-Control"]


def test_the_png_is_a_real_image(client, operator):
    import io

    account = WhatsAppSessionFactory(qr_payload=PAYLOAD)
    client.force_login(operator)
    response = client.get(reverse("session_qr", args=[account.pk, "png"]))
    image = Image.open(io.BytesIO(response.content))
    assert image.size[0] == image.size[1] > 100


def test_a_linked_account_has_no_qr(client, operator):
    account = WhatsAppSessionFactory(qr_payload="")
    client.force_login(operator)
    assert client.get(reverse("session_qr", args=[account.pk, "png"])).status_code == 404


def test_the_qr_requires_login(client):
    account = WhatsAppSessionFactory(qr_payload=PAYLOAD)
    response = client.get(reverse("session_qr", args=[account.pk, "svg"]))
    assert response.status_code == 302


def test_the_accounts_page_shows_the_qr_of_an_account_waiting_for_a_scan(client, operator):
    waiting = WhatsAppSessionFactory(qr_payload=PAYLOAD)
    linked = WhatsAppSessionFactory()
    client.force_login(operator)
    text = client.get(reverse("session_list")).content.decode()
    assert reverse("session_qr", args=[waiting.pk, "svg"]) in text
    assert reverse("session_qr", args=[linked.pk, "svg"]) not in text
