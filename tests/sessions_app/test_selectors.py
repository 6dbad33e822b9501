import datetime
import zoneinfo

import pytest
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Message, MessageStatus
from debtors.models import Debtor, OnWhatsApp
from sessions_app.models import AccountChat, AccountIncident, IncidentKind, SessionStatus
from sessions_app.selectors import (
    DayCounts,
    dashboard_accounts_context,
    session_counts_today,
    session_is_held,
    session_list_contexts,
    session_live_context,
    session_new_chat_budget,
    session_new_chats,
    session_warm_up_day,
    sessions_health,
)
from tests.factories import (
    ConversationFactory,
    DebtorFactory,
    IncomingMessageFactory,
    MessageFactory,
    WhatsAppSessionFactory,
)


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


BOGOTA_ZONE = zoneinfo.ZoneInfo("America/Bogota")


def _linked(at, **fields):
    return WhatsAppSessionFactory(linked_at=at, time_zone="America/Bogota", **fields)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("days_after", "budget"), [(0, 10), (2, 10), (3, 20), (6, 20), (7, 30), (90, 30)]
)
def test_a_new_account_warms_up_from_the_day_it_was_linked(days_after, budget):
    linked = datetime.datetime(2026, 12, 1, 9, tzinfo=BOGOTA_ZONE)
    account = _linked(linked, new_chats_per_day=30)
    now = linked + datetime.timedelta(days=days_after, hours=5)
    assert session_warm_up_day(session=account, now=now) == days_after + 1
    assert session_new_chat_budget(session=account, now=now) == budget


@pytest.mark.django_db
def test_the_warm_up_counts_days_in_the_accounts_time_zone():
    # 23:30 in Bogotá is already the next day in UTC: day 2 starts at Bogotá's midnight.
    linked = datetime.datetime(2026, 12, 1, 23, 30, tzinfo=BOGOTA_ZONE)
    account = _linked(linked)
    assert session_warm_up_day(session=account, now=linked + datetime.timedelta(minutes=20)) == 1
    assert session_warm_up_day(session=account, now=linked + datetime.timedelta(minutes=40)) == 2


@pytest.mark.django_db
def test_a_budget_below_the_warm_up_step_wins_and_the_schedule_is_a_setting(settings):
    linked = datetime.datetime(2026, 12, 1, 9, tzinfo=BOGOTA_ZONE)
    account = _linked(linked, new_chats_per_day=5)
    assert session_new_chat_budget(session=account, now=linked) == 5
    settings.WHATSAPP_WARM_UP = "1:2"
    account.new_chats_per_day = 40
    assert session_new_chat_budget(session=account, now=linked) == 2
    assert session_new_chat_budget(session=account, now=linked + datetime.timedelta(days=1)) == 40


@pytest.mark.django_db
def test_an_account_not_linked_yet_is_on_its_first_day():
    account = WhatsAppSessionFactory(linked_at=None, new_chats_per_day=30)
    assert session_new_chat_budget(session=account, now=timezone.now()) == 10


@pytest.mark.django_db
def test_new_chats_count_what_the_account_opened_today_in_its_zone():
    now = datetime.datetime(2026, 12, 2, 10, tzinfo=BOGOTA_ZONE)
    account = _linked(now - datetime.timedelta(days=30), new_chats_per_day=30)
    for n, hours_ago in enumerate([1, 9, 11]):  # the last one was yesterday in Bogotá
        AccountChat.objects.create(
            session=account,
            phone_e164=f"+57300000{n:04d}",
            opened_at=now - datetime.timedelta(hours=hours_ago),
        )
    AccountChat.objects.create(  # the debtor wrote first: no budget spent
        session=account, phone_e164="+573009999999", opened_at=now, outgoing=False
    )
    chats = session_new_chats(session=account, now=now)
    assert (chats.used, chats.budget, chats.remaining, chats.warming_up) == (2, 30, 28, False)


def _outcomes(account, since, *, sent=0, failed=0, not_on_whatsapp=0, unknown=0):
    for _ in range(sent):
        MessageFactory(session=account, status=MessageStatus.SENT, sent_at=since)
    for _ in range(failed):
        MessageFactory(session=account, status=MessageStatus.FAILED, failed_at=since)
    for _ in range(not_on_whatsapp):
        MessageFactory(
            session=account,
            status=MessageStatus.FAILED,
            failed_at=since,
            debtor=DebtorFactory(on_whatsapp=OnWhatsApp.NO),
        )
    for _ in range(unknown):
        MessageFactory(session=account, status=MessageStatus.UNKNOWN)


@pytest.mark.django_db
def test_the_health_score_takes_its_parts_from_the_last_seven_days():
    now = timezone.now()
    account = WhatsAppSessionFactory()
    recent = now - datetime.timedelta(days=2)
    _outcomes(account, recent, sent=20, failed=1, not_on_whatsapp=1, unknown=1)
    # Eight days ago: outside the window.
    _outcomes(account, now - datetime.timedelta(days=8), sent=5, failed=10)
    AccountIncident.objects.create(session=account, kind=IncidentKind.RESTRICTED, at=recent)
    for _ in range(2):
        AccountIncident.objects.create(session=account, kind=IncidentKind.DISCONNECTED, at=recent)
    AccountIncident.objects.create(
        session=account, kind=IncidentKind.DISCONNECTED, at=now - datetime.timedelta(days=9)
    )
    opted_out = Message.objects.filter(session=account, sent_at=recent).first()
    Debtor.objects.filter(pk=opted_out.debtor_id).update(opted_out=True, opted_out_at=now)
    for message in Message.objects.filter(session=account, sent_at=recent)[:3]:
        IncomingMessageFactory(
            conversation=ConversationFactory(debtor=message.debtor), session=account
        )
    health = sessions_health(session_ids=[account.pk], now=now)[account.pk]
    # 23 outcomes: 1 failed (4 points), 1 not on WhatsApp (4), 1 unknown (weighs double: 9),
    # one restriction (25), two disconnects (10), 1 of 20 opted out (10), 3 of 20 replied
    # (15, at most 10 back).
    assert health.parts_json() == {
        "failed": {"count": 1, "points": 4},
        "not_on_whatsapp": {"count": 1, "points": 4},
        "unknown": {"count": 1, "points": 9},
        "restrictions": {"count": 1, "points": 25},
        "disconnects": {"count": 2, "points": 10},
        "opt_outs": {"count": 1, "points": 10},
        "replies": {"count": 3, "points": -10},
    }
    assert health.score == 48


@pytest.mark.django_db
def test_a_quiet_account_is_fully_healthy_and_a_few_early_failures_do_not_sink_it():
    quiet, unlucky = WhatsAppSessionFactory(), WhatsAppSessionFactory()
    _outcomes(unlucky, timezone.now(), sent=1, failed=2)
    healths = sessions_health(session_ids=[quiet.pk, unlucky.pk])
    assert healths[quiet.pk].score == 100
    # Rates are taken over at least 20 messages: 2 failures cost 10 points, not 67.
    assert healths[unlucky.pk].score == 90
