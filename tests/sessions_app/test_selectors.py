import datetime

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import SessionStatus
from sessions_app.selectors import (
    DayCounts,
    dashboard_accounts_context,
    session_counts_today,
    session_is_held,
    session_list_contexts,
    session_live_context,
)
from tests.factories import MessageFactory, WhatsAppSessionFactory


@pytest.mark.parametrize(
    ("host", "heartbeat_seconds_ago", "held"),
    [
        ("browser-1", 5, True),
        ("browser-1", 59, True),
        ("browser-1", 61, False),
        ("browser-1", None, False),
        ("", 5, False),
    ],
)
def test_an_account_is_held_only_by_a_host_with_a_recent_heartbeat(
    db, settings, host, heartbeat_seconds_ago, held
):
    settings.HOST_STALE_SECONDS = 60
    heartbeat = (
        None
        if heartbeat_seconds_ago is None
        else timezone.now() - datetime.timedelta(seconds=heartbeat_seconds_ago)
    )
    session = WhatsAppSessionFactory(host=host, heartbeat_at=heartbeat)

    assert session_is_held(session=session) is held


def _today_at(hour):
    return timezone.localtime().replace(hour=hour, minute=0, second=0, microsecond=0)


def test_todays_counters_count_sends_and_failures_of_the_local_day(db):
    account, other, idle = WhatsAppSessionFactory.create_batch(3)
    yesterday = _today_at(12) - datetime.timedelta(days=1)
    MessageFactory.create_batch(2, session=account, status="read", sent_at=_today_at(0))
    MessageFactory(session=account, status="sent", sent_at=yesterday)
    MessageFactory(session=account, status="failed", failed_at=_today_at(23))
    MessageFactory(session=account, status="pending")
    MessageFactory(session=other, status="sent", sent_at=_today_at(9))

    counts = session_counts_today(session_ids=[account.pk, other.pk, idle.pk])

    assert counts == {
        account.pk: DayCounts(sent=2, failed=1),
        other.pk: DayCounts(sent=1, failed=0),
        idle.pk: DayCounts(),
    }


def test_the_accounts_list_counts_today_in_one_query(db, django_assert_num_queries):
    for account in WhatsAppSessionFactory.create_batch(5):
        MessageFactory(session=account, status="sent", sent_at=timezone.now())
    with django_assert_num_queries(2):
        rows = session_list_contexts()
    assert [row["today"].sent for row in rows] == [1] * 5


@pytest.mark.parametrize(
    ("fields", "phase"),
    [
        ({}, "offline"),
        ({"should_run": True}, "starting"),
        ({"should_run": True, "status": "waiting_qr", "qr_payload": "2@x"}, "waiting_qr"),
        ({"should_run": True, "status": "connected"}, "connected"),
        ({"should_run": False, "status": "connected", "host": "b1"}, "stopping"),
        ({"should_run": False, "status": "logged_out"}, "offline"),
    ],
)
def test_the_phase_says_what_the_operator_can_do_next(db, fields, phase):
    if "host" in fields:
        fields["heartbeat_at"] = timezone.now()
    session = WhatsAppSessionFactory(**fields)
    assert session_live_context(session=session)["phase"] == phase


LIVE = "sessions_app/session_detail.html#session_live"
ROW = "sessions_app/session_list.html#session_row"


@pytest.mark.parametrize(
    ("template", "root", "expected"),
    [
        (LIVE, "live", ["<dt>Sent today</dt><dd><strong>1</strong>", "Linked devices"]),
        (ROW, "row", ['<td class="num">1</td>', "Cobros 7", "Scan QR code"]),
    ],
)
def test_the_live_partials_render_from_the_context_alone(db, settings, template, root, expected):
    """The broadcast renders them without a request: no csrf_token, user or messages."""
    settings.WHATSAPP_DRIVER = "sandbox"
    session = WhatsAppSessionFactory(
        name="Cobros 7",
        should_run=True,
        status="waiting_qr",
        qr_payload="2@abc",
        qr_updated_at=timezone.now(),
    )
    MessageFactory(session=session, status="sent", sent_at=timezone.now())

    html = render_to_string(template, session_live_context(session=session))

    assert html.lstrip().startswith(("<section", "<tr"))
    assert f'id="session-{session.pk}-{root}"' in html.split(">", 1)[0]
    assert "waiting for QR scan" in html
    assert "csrfmiddlewaretoken" not in html
    for text in expected:
        assert text in html


def test_the_pushed_qr_image_changes_address_when_whatsapp_rotates_the_code(db, settings):
    settings.WHATSAPP_DRIVER = "sandbox"
    session = WhatsAppSessionFactory(
        should_run=True, status="waiting_qr", qr_payload="2@abc", qr_updated_at=timezone.now()
    )
    template = LIVE
    before = render_to_string(template, session_live_context(session=session))
    session.qr_payload = "2@def"
    session.qr_updated_at += datetime.timedelta(seconds=20)
    after = render_to_string(template, session_live_context(session=session))

    qr_url = reverse("session_qr", args=[session.pk, "svg"])
    assert f"{qr_url}?v=" in before
    assert before.split(f"{qr_url}?v=")[1][:13] != after.split(f"{qr_url}?v=")[1][:13]
    assert "Simulate scan" in before


def test_real_accounts_get_no_simulate_scan_button(db, settings):
    settings.WHATSAPP_DRIVER = "selenium"
    session = WhatsAppSessionFactory(
        should_run=True, status="waiting_qr", qr_payload="2@abc", qr_updated_at=timezone.now()
    )
    html = render_to_string(LIVE, session_live_context(session=session))
    assert "Linked devices" in html
    assert "Simulate scan" not in html


@pytest.mark.django_db
def test_the_accounts_partial_renders_without_a_request():
    WhatsAppSessionFactory(status=SessionStatus.CONNECTED)
    WhatsAppSessionFactory(status=SessionStatus.CONNECTED)
    WhatsAppSessionFactory(status=SessionStatus.BANNED)
    context = dashboard_accounts_context()
    assert context["accounts_total"] == 3
    assert context["accounts_needing_attention"] == 1

    html = render_to_string("whatsmassive/dashboard.html#accounts", context)
    assert html.lstrip().startswith('<div id="dashboard-accounts"')
    assert "<nav" not in html
    assert "1 needs attention" in html
    tiles = {state.status: state for state in context["account_states"]}
    assert tiles[SessionStatus.CONNECTED].count == 2
    assert tiles[SessionStatus.BANNED].needs_attention
    assert not tiles[SessionStatus.WAITING_QR].needs_attention  # none waiting: nothing to do
    assert html.count("state-tile attention") == 1
