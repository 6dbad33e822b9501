import datetime
import re

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from campaigns.models import CampaignStatus
from sessions_app.drivers import profile_dir_for
from sessions_app.drivers.sandbox import SCAN_MARKER
from sessions_app.models import (
    AccountChat,
    Pool,
    PoolMember,
    PoolStrategy,
    SessionStatus,
    WhatsAppSession,
)
from sessions_app.selectors import DayCounts
from tests.factories import (
    CampaignFactory,
    MessageFactory,
    PoolFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
)
from whatsmassive import clock

pytestmark = pytest.mark.django_db

PAYLOAD = "2@abc,def,ghi,jkl"


@pytest.mark.parametrize(("fmt", "content_type"), [("png", "image/png"), ("svg", "image/svg+xml")])
def test_the_waiting_qr_is_served_as_an_image(client, supervisor, fmt, content_type):
    account = WhatsAppSessionFactory(qr_payload=PAYLOAD)
    client.force_login(supervisor)
    response = client.get(reverse("session_qr", args=[account.pk, fmt]))
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert "no-cache" in response["Cache-Control"]


def test_the_png_is_a_real_image(client, supervisor):
    import io

    account = WhatsAppSessionFactory(qr_payload=PAYLOAD)
    client.force_login(supervisor)
    response = client.get(reverse("session_qr", args=[account.pk, "png"]))
    image = Image.open(io.BytesIO(response.content))
    assert image.size[0] == image.size[1] > 100


def test_a_linked_account_has_no_qr(client, supervisor):
    account = WhatsAppSessionFactory(qr_payload="")
    client.force_login(supervisor)
    assert client.get(reverse("session_qr", args=[account.pk, "png"])).status_code == 404


def test_the_qr_requires_login(client):
    account = WhatsAppSessionFactory(qr_payload=PAYLOAD)
    response = client.get(reverse("session_qr", args=[account.pk, "svg"]))
    assert response.status_code == 302


def _waiting(**fields):
    return WhatsAppSessionFactory(
        should_run=True,
        status=SessionStatus.WAITING_QR,
        qr_payload=PAYLOAD,
        qr_updated_at=timezone.now(),
        **fields,
    )


@pytest.fixture
def operator_client(client, supervisor):
    client.force_login(supervisor)
    return client


@pytest.fixture
def csrf_client(supervisor):
    client = Client(enforce_csrf_checks=True)
    client.force_login(supervisor)
    return client


HTMX = {"HTTP_HX_REQUEST": "true"}


def _page_urls():
    account = WhatsAppSessionFactory()
    pool = PoolFactory()
    return [
        reverse("session_list"),
        reverse("session_detail", args=[account.pk]),
        reverse("session_live", args=[account.pk]),
        reverse("session_row", args=[account.pk]),
        reverse("pool_list"),
        reverse("pool_new"),
        reverse("pool_detail", args=[pool.pk]),
        reverse("pool_members", args=[pool.pk]),
    ]


def test_every_page_sends_anonymous_visitors_to_the_login(client):
    for url in _page_urls():
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("login")), url


def test_every_page_opens_for_an_operator(operator_client):
    for url in _page_urls():
        assert operator_client.get(url).status_code == 200, url


# --- accounts list -----------------------------------------------------------------------


def test_the_list_shows_each_account_with_its_state_counters_and_pacing(operator_client):
    account = WhatsAppSessionFactory(
        name="Cobros 1",
        status=SessionStatus.CONNECTED,
        should_run=True,
        min_delay_seconds=20,
        max_delay_seconds=60,
        hourly_cap=60,
        daily_cap=400,
        active_from=datetime.time(8),
        active_until=datetime.time(19),
    )
    MessageFactory.create_batch(2, session=account, status="read", sent_at=timezone.now())
    MessageFactory(session=account, status="failed", failed_at=timezone.now())

    response = operator_client.get(reverse("session_list"))

    html = response.content.decode()
    assert "<h1>WhatsApp accounts</h1>" in html
    assert f'id="session-{account.pk}-row"' in html
    assert 'ws-connect="/ws/sessions/"' in html
    assert "Cobros 1" in html
    assert "connected" in html
    assert "20\u201360 s apart · 60/h · 400/day" in html
    assert "08:00\u201319:00" in html
    assert [row["today"] for row in response.context["rows"]] == [DayCounts(sent=2, failed=1)]
    assert reverse("session_disconnect", args=[account.pk]) in html


def test_an_account_waiting_for_a_scan_links_to_its_qr_from_the_list(operator_client):
    account = _waiting()
    html = operator_client.get(reverse("session_list")).content.decode()
    assert "Scan QR code" in html
    assert reverse("session_detail", args=[account.pk]) in html


def test_the_list_refetch_returns_only_the_rows(operator_client):
    account = WhatsAppSessionFactory()
    html = operator_client.get(reverse("session_list"), **HTMX).content.decode()
    assert html.lstrip().startswith('<tbody id="session-rows"')
    assert f'id="session-{account.pk}-row"' in html
    assert "<nav" not in html


def test_the_row_fragment_is_just_the_row(operator_client):
    account = WhatsAppSessionFactory()
    html = operator_client.get(reverse("session_row", args=[account.pk]), **HTMX).content.decode()
    assert html.lstrip().startswith(f'<tr id="session-{account.pk}-row"')
    assert "<nav" not in html


def test_adding_an_account_opens_its_page(operator_client):
    response = operator_client.post(reverse("session_add"), {"name": "Cobros 2"})
    account = WhatsAppSession.objects.get(name="Cobros 2")
    assert response.status_code == 302
    assert response["Location"] == reverse("session_detail", args=[account.pk])


def test_adding_an_account_over_htmx_redirects_the_browser(operator_client):
    response = operator_client.post(reverse("session_add"), {"name": "Cobros 2"}, **HTMX)
    account = WhatsAppSession.objects.get(name="Cobros 2")
    assert response["HX-Redirect"] == reverse("session_detail", args=[account.pk])


def test_a_taken_account_name_is_explained_and_nothing_is_added(operator_client):
    WhatsAppSessionFactory(name="Cobros 2")
    response = operator_client.post(reverse("session_add"), {"name": "cobros 2"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="session-add"')
    assert "An account named “cobros 2” already exists." in html
    assert WhatsAppSession.objects.count() == 1


def test_an_empty_account_name_is_refused_without_javascript_too(operator_client):
    response = operator_client.post(reverse("session_add"), {"name": "  "})
    assert response.status_code == 200
    assert "<nav" in response.content.decode()
    assert "This field is required." in response.content.decode()
    assert not WhatsAppSession.objects.exists()


# --- account page and its actions ---------------------------------------------------------


def test_the_account_page_shows_the_qr_with_a_cache_busting_version(operator_client, settings):
    settings.WHATSAPP_DRIVER = "sandbox"
    account = _waiting()
    html = operator_client.get(reverse("session_detail", args=[account.pk])).content.decode()
    version = int(account.qr_updated_at.timestamp() * 1000)
    assert f"{reverse('session_qr', args=[account.pk, 'svg'])}?v={version}" in html
    assert f'ws-connect="/ws/sessions/{account.pk}/"' in html
    assert "Link a device" in html
    assert "Simulate scan" in html
    # While waiting for the scan the fragment polls when the socket is down.
    assert 'data-poll="3"' in html


def test_a_linked_account_shows_no_qr_and_does_not_poll(operator_client):
    account = WhatsAppSessionFactory(
        status=SessionStatus.CONNECTED,
        should_run=True,
        phone_e164="+573001234567",
        connected_at=timezone.now(),
    )
    html = operator_client.get(reverse("session_detail", args=[account.pk])).content.decode()
    assert reverse("session_qr", args=[account.pk, "svg"]) not in html
    assert 'data-poll="3"' not in html
    assert "Connected as <strong>+573001234567</strong>" in html
    assert "hx-confirm=" in html.split(reverse("session_logout", args=[account.pk]))[1][:80]


def test_the_account_page_lists_its_pools_and_recent_messages(operator_client):
    account = WhatsAppSessionFactory()
    member = PoolMemberFactory(session=account, pool=PoolFactory(name="Mora 30"))
    MessageFactory(
        session=account,
        campaign=CampaignFactory(name="Enero", pool=member.pool),
        status="delivered",
        claimed_at=timezone.now(),
    )
    html = operator_client.get(reverse("session_detail", args=[account.pk])).content.decode()
    assert "Mora 30" in html
    assert "Enero" in html
    assert "badge-delivered" in html


def test_the_live_fragment_is_only_the_fragment(operator_client):
    account = _waiting()
    html = operator_client.get(reverse("session_live", args=[account.pk]), **HTMX).content.decode()
    assert html.lstrip().startswith(f'<section id="session-{account.pk}-live"')
    assert "<nav" not in html


@pytest.mark.parametrize(
    "name", ["session_connect", "session_disconnect", "session_logout", "session_simulate_scan"]
)
def test_account_actions_need_the_csrf_token(csrf_client, name):
    account = WhatsAppSessionFactory()
    response = csrf_client.post(reverse(name, args=[account.pk]), **HTMX)
    assert response.status_code == 403
    assert WhatsAppSession.objects.get(pk=account.pk).status_detail == ""


def test_account_actions_refuse_get(operator_client):
    account = WhatsAppSessionFactory()
    assert operator_client.get(reverse("session_connect", args=[account.pk])).status_code == 405


def test_connect_asks_for_the_account_and_answers_with_the_live_fragment(operator_client):
    account = WhatsAppSessionFactory()
    response = operator_client.post(reverse("session_connect", args=[account.pk]), **HTMX)
    account.refresh_from_db()
    assert account.should_run
    html = response.content.decode()
    assert html.lstrip().startswith(f'<section id="session-{account.pk}-live"')
    assert "Starting…" in html


def test_connect_from_the_list_answers_with_the_row(operator_client):
    account = WhatsAppSessionFactory()
    response = operator_client.post(
        reverse("session_connect", args=[account.pk]), {"from": "list"}, **HTMX
    )
    assert response.content.decode().lstrip().startswith(f'<tr id="session-{account.pk}-row"')
    assert WhatsAppSession.objects.get(pk=account.pk).should_run


def test_connect_without_javascript_goes_back_to_the_page(operator_client):
    account = WhatsAppSessionFactory()
    response = operator_client.post(reverse("session_connect", args=[account.pk]))
    assert response["Location"] == reverse("session_detail", args=[account.pk])
    response = operator_client.post(
        reverse("session_disconnect", args=[account.pk]), {"from": "list"}
    )
    assert response["Location"] == reverse("session_list")


def test_disconnect_stops_the_account_but_keeps_its_link(operator_client):
    account = WhatsAppSessionFactory(status=SessionStatus.CONNECTED, should_run=True)
    operator_client.post(reverse("session_disconnect", args=[account.pk]), **HTMX)
    account.refresh_from_db()
    assert not account.should_run
    assert account.status != SessionStatus.LOGGED_OUT


def test_log_out_unlinks_the_account(operator_client):
    account = WhatsAppSessionFactory(status=SessionStatus.DISCONNECTED)
    profile = profile_dir_for(session_id=account.pk)
    WhatsAppSession.objects.filter(pk=account.pk).update(profile_dir=str(profile))
    response = operator_client.post(reverse("session_logout", args=[account.pk]), **HTMX)
    account.refresh_from_db()
    assert account.status == SessionStatus.LOGGED_OUT
    assert not profile.exists()
    assert "Logged out" in response.content.decode()


def test_simulate_scan_does_what_the_phone_would(operator_client, settings):
    settings.WHATSAPP_DRIVER = "sandbox"
    account = _waiting()
    profile = profile_dir_for(session_id=account.pk)
    WhatsAppSession.objects.filter(pk=account.pk).update(profile_dir=str(profile))
    response = operator_client.post(reverse("session_simulate_scan", args=[account.pk]), **HTMX)
    assert response.status_code == 200
    assert (profile / SCAN_MARKER).exists()


def test_a_refused_action_is_explained_in_the_fragment(operator_client, settings):
    settings.WHATSAPP_DRIVER = "sandbox"
    account = WhatsAppSessionFactory(status=SessionStatus.CONNECTED, should_run=True)
    response = operator_client.post(reverse("session_simulate_scan", args=[account.pk]), **HTMX)
    html = response.content.decode()
    assert 'role="alert"' in html
    assert "Simulated scans exist only for sandbox accounts waiting for a scan." in html


def test_a_refused_action_without_javascript_comes_back_as_a_message(operator_client, settings):
    settings.WHATSAPP_DRIVER = "sandbox"
    account = WhatsAppSessionFactory(status=SessionStatus.CONNECTED, should_run=True)
    response = operator_client.post(
        reverse("session_simulate_scan", args=[account.pk]), follow=True
    )
    assert "Simulated scans exist only" in response.content.decode()


# --- pacing --------------------------------------------------------------------------------

PACING = {
    "min_delay_seconds": "25",
    "max_delay_seconds": "70",
    "hourly_cap": "50",
    "daily_cap": "350",
    "active_from": "09:00",
    "active_until": "18:00",
    "time_zone": "America/Bogota",
}


def test_pacing_is_saved(operator_client):
    account = WhatsAppSessionFactory()
    response = operator_client.post(reverse("session_pacing", args=[account.pk]), PACING, **HTMX)
    account.refresh_from_db()
    assert (account.min_delay_seconds, account.max_delay_seconds) == (25, 70)
    assert (account.hourly_cap, account.daily_cap) == (50, 350)
    assert account.active_from == datetime.time(9)
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="session-pacing"')
    assert "Saved" in html


def test_pacing_without_javascript_goes_back_to_the_page(operator_client):
    account = WhatsAppSessionFactory()
    response = operator_client.post(reverse("session_pacing", args=[account.pk]), PACING)
    assert response["Location"] == reverse("session_detail", args=[account.pk])


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"min_delay_seconds": "80"}, "The longest delay must be at least the shortest one."),
        ({"hourly_cap": "0"}, "Allow at least 1 message"),
        ({"time_zone": "Bogota"}, "“Bogota” is not a time zone name"),
        ({"active_from": "25:00"}, "Enter a valid time."),
        ({"daily_cap": ""}, "This field is required."),
    ],
)
def test_bad_pacing_is_explained_and_nothing_is_saved(operator_client, change, message):
    account = WhatsAppSessionFactory(hourly_cap=60)
    response = operator_client.post(
        reverse("session_pacing", args=[account.pk]), PACING | change, **HTMX
    )
    assert message in response.content.decode()
    account.refresh_from_db()
    assert account.hourly_cap == 60
    assert account.min_delay_seconds == 0


def test_bad_pacing_without_javascript_shows_the_page_with_the_errors(operator_client):
    account = WhatsAppSessionFactory()
    response = operator_client.post(
        reverse("session_pacing", args=[account.pk]), PACING | {"daily_cap": "0"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<nav" in html
    assert "Allow at least 1 message" in html


def test_pacing_needs_the_csrf_token(csrf_client):
    account = WhatsAppSessionFactory()
    response = csrf_client.post(reverse("session_pacing", args=[account.pk]), PACING, **HTMX)
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.hourly_cap != 50


# --- pools ---------------------------------------------------------------------------------


def test_the_pool_list_shows_members_and_campaigns(operator_client):
    pool = PoolFactory(name="Mora 60", strategy=PoolStrategy.FIXED_TURNS)
    PoolMemberFactory(pool=pool)
    PoolMemberFactory(pool=pool, enabled=False)
    CampaignFactory(pool=pool)
    html = operator_client.get(reverse("pool_list")).content.decode()
    assert "Mora 60" in html
    assert "1 of 2 enabled" in html
    assert "Fixed turns" in html


def test_the_pool_editor_explains_each_strategy(operator_client):
    html = operator_client.get(reverse("pool_new")).content.decode()
    assert html.count('type="radio"') == 3
    assert "Whichever account is free takes the next message." in html
    assert "in proportion to its weight" in html


def test_creating_a_pool_opens_it_to_add_accounts(operator_client):
    response = operator_client.post(
        reverse("pool_new"), {"name": "Mora 90", "strategy": "random_turns", "description": ""}
    )
    pool = Pool.objects.get(name="Mora 90")
    assert pool.strategy == PoolStrategy.RANDOM_TURNS
    assert response["Location"] == reverse("pool_detail", args=[pool.pk])


def test_a_taken_pool_name_is_explained(operator_client):
    PoolFactory(name="Mora 90")
    response = operator_client.post(
        reverse("pool_new"), {"name": "Mora 90", "strategy": "competitive"}, **HTMX
    )
    html = response.content.decode()
    assert html.lstrip().startswith('<form id="pool-form"')
    assert "A pool named “Mora 90” already exists." in html
    assert Pool.objects.count() == 1


def test_editing_a_pool_over_htmx_answers_with_the_form(operator_client):
    pool = PoolFactory(name="Mora", strategy=PoolStrategy.COMPETITIVE)
    response = operator_client.post(
        reverse("pool_detail", args=[pool.pk]),
        {"name": "Mora 30", "strategy": "fixed_turns", "description": "Primer aviso"},
        **HTMX,
    )
    pool.refresh_from_db()
    assert (pool.name, pool.strategy, pool.description) == (
        "Mora 30",
        "fixed_turns",
        "Primer aviso",
    )
    html = response.content.decode()
    assert "<nav" not in html
    assert "Saved." in html


def test_a_pool_needs_a_strategy(operator_client):
    pool = PoolFactory(name="Mora")
    response = operator_client.post(
        reverse("pool_detail", args=[pool.pk]), {"name": "Mora", "strategy": "fastest"}, **HTMX
    )
    assert "Select a valid choice." in response.content.decode()


def test_the_pool_page_shows_the_campaigns_using_it_and_offers_no_delete(operator_client):
    pool = PoolFactory()
    CampaignFactory(pool=pool, name="Febrero", status=CampaignStatus.RUNNING)
    html = operator_client.get(reverse("pool_detail", args=[pool.pk])).content.decode()
    assert "Febrero" in html
    assert reverse("pool_delete", args=[pool.pk]) not in html


def test_a_pool_used_by_a_campaign_is_not_deleted(operator_client):
    pool = CampaignFactory().pool
    response = operator_client.post(reverse("pool_delete", args=[pool.pk]), follow=True)
    assert Pool.objects.filter(pk=pool.pk).exists()
    assert "cannot be deleted" in response.content.decode()


def test_an_unused_pool_is_deleted(operator_client):
    pool = PoolFactory()
    response = operator_client.post(reverse("pool_delete", args=[pool.pk]))
    assert response["Location"] == reverse("pool_list")
    assert not Pool.objects.exists()


def _members_html(response):
    html = response.content.decode()
    assert "<nav" not in html
    assert html.lstrip().startswith('<section id="pool-')
    return html


def test_adding_a_member_answers_with_the_members_table(operator_client):
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, position=0)
    account = WhatsAppSessionFactory(name="Cobros 9")
    response = operator_client.post(
        reverse("pool_member_add", args=[pool.pk]), {"session": account.pk}, **HTMX
    )
    html = _members_html(response)
    assert "Cobros 9" in html
    assert pool.members.get(session=account).position == 1
    # The account is no longer offered.
    assert f'<option value="{account.pk}"' not in html


def test_an_account_already_in_the_pool_cannot_be_added_again(operator_client):
    member = PoolMemberFactory()
    response = operator_client.post(
        reverse("pool_member_add", args=[member.pool.pk]), {"session": member.session.pk}, **HTMX
    )
    assert "That account is already in this pool" in _members_html(response)
    assert PoolMember.objects.count() == 1


def test_members_move_up_and_down(operator_client):
    pool = PoolFactory()
    first, second = (PoolMemberFactory(pool=pool, position=n) for n in range(2))
    response = operator_client.post(
        reverse("pool_member_move", args=[pool.pk, second.pk]), {"position": "0"}, **HTMX
    )
    _members_html(response)
    assert list(pool.members.order_by("position").values_list("pk", flat=True)) == [
        second.pk,
        first.pk,
    ]


def test_a_member_is_disabled_and_enabled_again(operator_client):
    member = PoolMemberFactory(weight=2)
    url = reverse("pool_member_update", args=[member.pool.pk, member.pk])
    _members_html(operator_client.post(url, {"weight": "2"}, **HTMX))
    member.refresh_from_db()
    assert not member.enabled
    operator_client.post(url, {"weight": "2", "enabled": "on"}, **HTMX)
    member.refresh_from_db()
    assert member.enabled
    assert member.weight == 2


def test_a_members_weight_changes(operator_client):
    member = PoolMemberFactory(weight=1)
    url = reverse("pool_member_update", args=[member.pool.pk, member.pk])
    operator_client.post(url, {"weight": "4", "enabled": "on"}, **HTMX)
    member.refresh_from_db()
    assert (member.weight, member.enabled) == (4, True)


def test_a_weight_of_zero_is_explained_and_not_saved(operator_client):
    member = PoolMemberFactory(weight=3, session=WhatsAppSessionFactory(name="Cobros 4"))
    url = reverse("pool_member_update", args=[member.pool.pk, member.pk])
    response = operator_client.post(url, {"weight": "0", "enabled": "on"}, **HTMX)
    assert "Cobros 4: The weight must be 1 or more." in _members_html(response)
    member.refresh_from_db()
    assert member.weight == 3


def test_removing_a_member_keeps_the_account(operator_client):
    member = PoolMemberFactory()
    response = operator_client.post(
        reverse("pool_member_remove", args=[member.pool.pk, member.pk]), **HTMX
    )
    _members_html(response)
    assert not PoolMember.objects.exists()
    assert WhatsAppSession.objects.filter(pk=member.session_id).exists()


def test_member_edits_without_javascript_go_back_to_the_pool(operator_client):
    member = PoolMemberFactory()
    url = reverse("pool_member_update", args=[member.pool.pk, member.pk])
    response = operator_client.post(url, {"weight": "0"}, follow=True)
    assert "The weight must be 1 or more." in response.content.decode()
    assert response.redirect_chain[-1][0] == reverse("pool_detail", args=[member.pool.pk])


def test_a_member_of_another_pool_is_not_found(operator_client):
    member = PoolMemberFactory()
    other = PoolFactory()
    url = reverse("pool_member_remove", args=[other.pk, member.pk])
    assert operator_client.post(url, **HTMX).status_code == 404
    assert PoolMember.objects.exists()


@pytest.mark.parametrize("name", ["pool_member_update", "pool_member_move", "pool_member_remove"])
def test_member_edits_need_the_csrf_token(csrf_client, name):
    member = PoolMemberFactory(weight=3)
    url = reverse(name, args=[member.pool.pk, member.pk])
    response = csrf_client.post(url, {"weight": "5", "position": "0"}, **HTMX)
    assert response.status_code == 403
    member.refresh_from_db()
    assert member.weight == 3


# --- what WhatsApp says: pairing code, restriction, another window ------------------------


def _held(**fields):
    return WhatsAppSessionFactory(
        should_run=True,
        host="browser-1",
        host_token="t" * 32,
        heartbeat_at=timezone.now(),
        **fields,
    )


def test_the_login_screen_offers_a_pairing_code_beside_the_qr(operator_client):
    account = _held(
        status=SessionStatus.WAITING_QR, qr_payload=PAYLOAD, qr_updated_at=timezone.now()
    )

    response = operator_client.post(
        reverse("session_pairing_code", args=[account.pk]),
        {"phone": "300 123 4567"},
        HTTP_HX_REQUEST="true",
    )

    html = response.content.decode()
    assert "Asking WhatsApp for a code for +573001234567" in html
    assert WhatsAppSession.objects.get(pk=account.pk).pairing_phone == "+573001234567"


def test_the_pairing_code_is_shown_with_how_to_enter_it(operator_client):
    account = _held(
        status=SessionStatus.WAITING_QR,
        qr_payload=PAYLOAD,
        qr_updated_at=timezone.now(),
        pairing_phone="+573001234567",
        pairing_code="K4T29QXM",
    )

    html = operator_client.get(reverse("session_detail", args=[account.pk])).content.decode()

    assert "K4T2-9QXM" in html
    assert "Link with phone number instead" in html


def test_a_pairing_code_for_a_number_that_is_no_phone_is_refused(operator_client):
    account = _held(
        status=SessionStatus.WAITING_QR, qr_payload=PAYLOAD, qr_updated_at=timezone.now()
    )

    response = operator_client.post(
        reverse("session_pairing_code", args=[account.pk]), {"phone": "12"}, HTTP_HX_REQUEST="true"
    )

    assert "is not a phone number" in response.content.decode()
    assert WhatsAppSession.objects.get(pk=account.pk).pairing_phone == ""


def test_a_restricted_account_says_what_happened_and_what_to_do(operator_client):
    account = _held(
        status=SessionStatus.RESTRICTED,
        restriction_reason="WhatsApp refused a message to a new chat (ack -1, error 463)",
        restricted_since=timezone.now(),
    )

    html = operator_client.get(reverse("session_detail", args=[account.pk])).content.decode()

    assert "WhatsApp restricts this number since" in html
    assert "error 463" in html
    assert "warm the number up" in html


def test_an_account_open_elsewhere_offers_use_here(operator_client):
    account = _held(status=SessionStatus.DISCONNECTED, in_conflict=True)
    page = operator_client.get(reverse("session_detail", args=[account.pk])).content.decode()
    assert "open for this account in another window" in page

    operator_client.post(reverse("session_use_here", args=[account.pk]), HTTP_HX_REQUEST="true")

    assert WhatsAppSession.objects.get(pk=account.pk).takeover_requested


def test_the_page_says_when_the_driver_fell_back_to_the_dom(operator_client, settings):
    settings.WHATSAPP_DRIVER = "selenium"
    account = _held(
        status=SessionStatus.CONNECTED,
        driver_strategy="dom",
        strategy_detail="wa-js did not become ready within 60 s (wa-js loaded): using the DOM",
    )

    html = operator_client.get(reverse("session_detail", args=[account.pk])).content.decode()

    assert "the slower DOM path" in html
    assert "wa-js did not become ready within 60 s" in html


def test_the_account_page_shows_its_new_chats_warm_up_and_health(operator_client):
    account = WhatsAppSessionFactory(
        linked_at=timezone.now() - datetime.timedelta(days=1),
        new_chats_per_day=30,
        health_score=55,
        health_parts={
            "failed": {"count": 6, "points": 30},
            "replies": {"count": 3, "points": -10},
        },
        health_at=timezone.now(),
    )
    AccountChat.objects.create(session=account, phone_e164="+573001112233", opened_at=clock.now())
    html = operator_client.get(reverse("session_detail", args=[account.pk])).content.decode()
    new_chats = html[html.index(f'id="session-{account.pk}-new-chats"') :]
    assert "<dt>Opened today</dt><dd><strong>1</strong>" in new_chats
    assert "<dt>Left today</dt><dd><strong>9</strong>" in new_chats
    assert "<dt>Today's budget</dt><dd><strong>10</strong>" in new_chats
    assert "Warm-up: day 2 since the phone was linked" in new_chats
    assert "then 30 a day" in new_chats
    health = html[html.index(f'id="session-{account.pk}-health"') :]
    assert "55/100" in health
    assert "slowed down" in health
    assert "Below 60 its delays between messages double; below 40 it pauses itself" in health
    assert '<td>failed sends</td><td class="num">6</td><td class="num">-30</td>' in health
    assert '<td class="num">3</td><td class="num">+10</td>' in health


def test_the_list_and_the_dashboard_show_each_accounts_health(operator_client):
    WhatsAppSessionFactory(name="Sano", health_score=92)
    WhatsAppSessionFactory(name="Enfermo", health_score=31)
    WhatsAppSessionFactory(name="Nuevo", health_score=None)
    for page in (reverse("session_list"), reverse("dashboard")):
        html = operator_client.get(page).content.decode()
        assert '<th scope="col">Health</th>' in html
        assert re.search(r'badge-connected"[^>]*>92/100<', html)
        assert re.search(r'badge-failed"[^>]*>31/100<', html)
        assert "not scored yet" in html


def test_the_new_chat_budget_is_saved_with_the_pacing(operator_client):
    account = WhatsAppSessionFactory(new_chats_per_day=30)
    operator_client.post(
        reverse("session_pacing", args=[account.pk]), PACING | {"new_chats_per_day": "12"}, **HTMX
    )
    account.refresh_from_db()
    assert account.new_chats_per_day == 12
    operator_client.post(reverse("session_pacing", args=[account.pk]), PACING, **HTMX)
    account.refresh_from_db()
    assert account.new_chats_per_day == 12
