import pytest
from django.urls import reverse

from tests.factories import CampaignFactory, DebtorFactory, PoolMemberFactory
from whatsmassive.settings import websocket_origins

pytestmark = pytest.mark.django_db


def _policy(response):
    return dict(
        part.strip().split(" ", 1) for part in response["Content-Security-Policy"].split(";")
    )


def test_every_page_carries_the_policy_with_a_fresh_script_nonce(client, staff_user):
    member = PoolMemberFactory()
    campaign = CampaignFactory(pool=member.pool)
    debtor = DebtorFactory()
    anonymous = [reverse("login")]
    pages = [
        reverse("dashboard"),
        reverse("session_list"),
        reverse("session_detail", args=[member.session_id]),
        reverse("pool_list"),
        reverse("pool_detail", args=[member.pool_id]),
        reverse("campaign_list"),
        reverse("campaign_detail", args=[campaign.pk]),
        reverse("campaign_create"),
        reverse("debtor_list"),
        reverse("debtor_detail", args=[debtor.pk]),
        reverse("debtor_import_new"),
        reverse("log_list"),
        reverse("admin:index"),
    ]
    nonces = set()
    for url in anonymous:
        assert "script-src" in _policy(client.get(url))
    client.force_login(staff_user)
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        policy = _policy(response)
        assert policy["default-src"] == "'self'"
        assert policy["object-src"] == "'none'"
        assert policy["frame-ancestors"] == "'none'"
        assert policy["form-action"] == "'self'"
        assert policy["connect-src"].startswith("'self' ws://localhost:*")
        assert "unsafe" not in response["Content-Security-Policy"]
        nonce = policy["script-src"].removeprefix("'self' 'nonce-").removesuffix("'")
        if url != reverse("admin:index"):
            assert f'nonce="{nonce}"' in response.content.decode(), url
        nonces.add(nonce)
    assert len(nonces) == len(pages)


def test_a_refusal_page_carries_the_policy_too(client, viewer):
    client.force_login(viewer)
    response = client.get(reverse("campaign_create"))
    assert response.status_code == 403
    assert _policy(response)["default-src"] == "'self'"


def test_the_socket_origins_follow_the_allowed_hosts():
    hosts = ["app.example.com", ".example.org", "*", "[::1]"]
    assert websocket_origins(hosts, secure=True) == ["wss://app.example.com", "wss://*.example.org"]
    assert websocket_origins(["localhost"], secure=False) == ["ws://localhost:*"]
