import pytest
from django.core.management import call_command

from whatsmassive.models import APIKey


def test_an_operator_with_the_permission_creates_a_key_shown_once(client, staff_user):
    client.force_login(staff_user)
    page = client.post("/settings/api-keys/", {"name": "core", "scope": "write"})
    assert page.status_code == 200
    secret = page.context["created"]["secret"]
    assert secret.encode() in page.content
    again = client.get("/settings/api-keys/")
    assert secret.encode() not in again.content
    key = APIKey.objects.get_from_key(secret)
    assert (key.user, key.scope) == (staff_user, "write")
    client.post(f"/settings/api-keys/{key.pk}/revoke/")
    assert APIKey.objects.get(pk=key.pk).revoked


def test_operators_without_the_permission_cannot_manage_keys(client, operator):
    client.force_login(operator)
    assert client.get("/settings/api-keys/").status_code == 403


@pytest.mark.django_db
def test_the_command_prints_the_key_on_its_last_line(staff_user, capsys):
    call_command("api_key", "create", "sync", "--user", staff_user.username, "--scope", "write")
    secret = capsys.readouterr().out.strip().splitlines()[-1]
    assert APIKey.objects.get_from_key(secret).scope == "write"


def test_the_docs_are_served_from_our_own_static_files(client, staff_user):
    client.force_login(staff_user)
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    assert b"/static/drf_spectacular_sidecar/swagger-ui-dist/" in docs.content
    assert b"cdn" not in docs.content.lower()
    assert client.get("/api/redoc/").status_code == 200
    assert client.get("/api/schema/").status_code == 200
