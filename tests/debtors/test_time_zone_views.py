import pytest
from django.urls import reverse

from tests.factories import DebtorFactory

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def test_a_debtor_without_a_zone_shows_the_one_its_phone_gives(client, viewer):
    debtor = DebtorFactory(phone_e164="+34912345678", time_zone="")
    client.force_login(viewer)
    page = client.get(reverse("debtor_detail", args=[debtor.pk])).content.decode()
    assert "From the phone: Madrid" in page
    assert reverse("debtor_time_zone", args=[debtor.pk]) not in page  # a viewer cannot edit


def test_an_operator_sets_the_zone_in_any_case_and_clears_it(client, operator):
    debtor = DebtorFactory(phone_e164="+573001234567")
    client.force_login(operator)
    url = reverse("debtor_time_zone", args=[debtor.pk])
    response = client.post(url, {"time_zone": "europe/madrid"}, **HTMX)
    assert response.status_code == 200
    assert "Europe/Madrid" in response.content.decode()
    debtor.refresh_from_db()
    assert debtor.time_zone == "Europe/Madrid"
    assert client.post(url, {"time_zone": ""}).status_code == 302
    debtor.refresh_from_db()
    assert debtor.time_zone == ""


def test_an_unknown_zone_is_refused_with_its_reason(client, operator):
    debtor = DebtorFactory(time_zone="America/Bogota")
    client.force_login(operator)
    response = client.post(
        reverse("debtor_time_zone", args=[debtor.pk]), {"time_zone": "Bogota"}, **HTMX
    )
    assert "“Bogota” is not a time zone" in response.content.decode()
    debtor.refresh_from_db()
    assert debtor.time_zone == "America/Bogota"


def test_a_viewer_cannot_change_the_zone(client, viewer):
    debtor = DebtorFactory(time_zone="")
    client.force_login(viewer)
    response = client.post(reverse("debtor_time_zone", args=[debtor.pk]), {"time_zone": "UTC"})
    assert response.status_code == 403
    debtor.refresh_from_db()
    assert debtor.time_zone == ""
