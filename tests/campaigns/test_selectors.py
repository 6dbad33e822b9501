import datetime
from decimal import Decimal

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus, MessageStatus
from campaigns.selectors import (
    campaign_accounts,
    campaign_live_context,
    campaign_message_page,
    campaign_preview,
    campaign_progress,
    campaign_progress_many,
    debtor_extra_keys,
)
from debtors.models import DebtorStatus
from sessions_app.models import SessionStatus
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    MessageFactory,
    PoolFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
    running_campaign,
)

pytestmark = pytest.mark.django_db


def _render_progress(campaign):
    return render_to_string(
        "campaigns/campaign_detail.html#progress", campaign_live_context(campaign=campaign)
    )


# --- the pushed progress partial -------------------------------------------------------------


def test_the_live_context_renders_a_draft_without_a_request():
    pool = PoolFactory()
    PoolMemberFactory(pool=pool)
    DebtorFactory(name="Ana Ríos")
    campaign = CampaignFactory(pool=pool, template="Hola {name}")
    html = _render_progress(campaign)
    assert f'<section id="campaign-{campaign.pk}-progress"' in html
    assert "Not started yet" in html
    assert "Hola Ana Ríos" in html
    assert "Start sending" in html
    assert (
        "csrfmiddlewaretoken" not in html
    )  # pushed fragments carry no token: htmx sends the header


def test_the_live_context_renders_a_draft_that_cannot_start():
    campaign = CampaignFactory(template="Hola {apodo}")
    html = _render_progress(campaign)
    assert "Fix this before starting" in html
    assert "has no enabled account" in html
    assert "disabled>Start sending" in html


def test_the_live_context_renders_a_running_campaign():
    campaign = running_campaign(pending=2, claimed=1, sent=3, delivered=1, failed=1)
    campaign.status_detail = "Waiting: no account of the pool is connected"
    html = _render_progress(campaign)
    assert "Sending · 3 to go" in html
    assert "Waiting: no account of the pool is connected" in html
    assert "<strong>62%</strong> done" in html  # 5 of 8 settled
    assert 'data-poll="3"' in html
    assert "Pause" in html
    assert "Cancel campaign" in html
    assert "in doubt" not in html


def test_the_live_context_renders_a_paused_campaign_with_unknown_messages():
    campaign = running_campaign(status=CampaignStatus.PAUSED, pending=1, unknown=2)
    campaign.status_detail = "Paused automatically: 12 of the last 20 sends failed"
    html = _render_progress(campaign)
    assert "Paused automatically: 12 of the last 20 sends failed" in html
    assert "Resume" in html
    assert "2 messages in doubt." in html
    assert 'data-poll="3"' not in html  # only a running campaign polls


@pytest.mark.parametrize("status", [CampaignStatus.COMPLETED, CampaignStatus.CANCELLED])
def test_the_live_context_renders_a_finished_campaign(status):
    campaign = running_campaign(status=status, sent=2, skipped=1)
    campaign.finished_at = campaign.started_at + datetime.timedelta(hours=2)
    html = _render_progress(campaign)
    assert "100%" in html
    assert "after 2\xa0hours" in html
    assert "<button" not in html


def test_the_live_context_includes_the_progress_the_dashboard_bar_needs():
    campaign = running_campaign(pending=1, sent=1)
    context = campaign_live_context(campaign=campaign)
    assert context["campaign"] == campaign
    assert context["progress"].percent == 50
    bar = render_to_string(
        "campaigns/_campaign_bar.html", {"campaign": campaign, "progress": context["progress"]}
    )
    assert f'id="campaign-{campaign.pk}-bar"' in bar
    assert "1 / 2 · 50%" in bar


# --- counts and breakdowns ---------------------------------------------------------------------


def test_progress_groups_statuses_into_the_buckets_operators_read():
    campaign = running_campaign(pending=1, claimed=1, sending=2, sent=1, read=1, unknown=1)
    progress = campaign_progress(campaign=campaign)
    buckets = {bucket.key: bucket.count for bucket in progress.buckets}
    assert buckets["in_progress"] == 3
    assert buckets["pending"] == 1
    assert buckets["failed"] == 0
    assert (progress.sent, progress.open, progress.unknown) == (2, 4, 1)


def test_progress_of_many_campaigns_takes_one_query(django_assert_num_queries):
    first = running_campaign(pending=1, sent=2)
    second = running_campaign(failed=1)
    empty = CampaignFactory()
    with django_assert_num_queries(1):
        progress = campaign_progress_many(campaigns=[first, second, empty])
    assert progress[first.pk].counts == {"pending": 1, "sent": 2}
    assert progress[second.pk].done == 1
    assert progress[empty.pk].total == 0


def test_accounts_show_each_members_sends_failures_and_last_send():
    busy, idle, off = WhatsAppSessionFactory.create_batch(3)
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=busy, position=0)
    PoolMemberFactory(pool=pool, session=idle, position=1)
    PoolMemberFactory(pool=pool, session=off, position=2, enabled=False)
    campaign = CampaignFactory(pool=pool, status=CampaignStatus.RUNNING)
    last = timezone.now()
    MessageFactory(campaign=campaign, session=busy, status="read", sent_at=last)
    MessageFactory(
        campaign=campaign, session=busy, status="sent", sent_at=last - datetime.timedelta(minutes=5)
    )
    MessageFactory(campaign=campaign, session=busy, status="failed")
    MessageFactory(campaign=campaign, session=busy, status="sending", lease_until=last)
    MessageFactory(campaign=campaign)  # pending, no account yet
    accounts = campaign_accounts(campaign=campaign)
    assert [account.session for account in accounts] == [busy, idle]
    assert (accounts[0].sent, accounts[0].failed, accounts[0].in_flight) == (2, 1, 1)
    assert accounts[0].last_sent_at == last
    assert (accounts[1].sent, accounts[1].last_sent_at) == (0, None)


def test_an_account_that_left_the_pool_still_shows_what_it_sent():
    gone = WhatsAppSessionFactory(status=SessionStatus.BANNED)
    campaign = running_campaign(pending=1)
    MessageFactory(campaign=campaign, session=gone, status="sent", sent_at=timezone.now())
    accounts = campaign_accounts(campaign=campaign)
    assert accounts[-1].session == gone
    assert accounts[-1].sent == 1


def _sent_for(campaign, *, account, minutes_ago):
    sent_at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    return MessageFactory(campaign=campaign, session=account, status="sent", sent_at=sent_at)


def test_the_pace_of_the_last_ten_minutes_says_when_the_campaign_ends():
    campaign = running_campaign(pending=40)
    Campaign.objects.filter(pk=campaign.pk).update(
        started_at=timezone.now() - datetime.timedelta(hours=1)
    )
    account = campaign.pool.members.get().session
    for minute in range(20):  # two a minute lately...
        _sent_for(campaign, account=account, minutes_ago=minute / 2)
    _sent_for(campaign, account=account, minutes_ago=30)  # ...and one long before
    MessageFactory(
        campaign=campaign,
        session=account,
        status="failed",
        failed_at=timezone.now() - datetime.timedelta(minutes=1),
    )

    context = campaign_live_context(campaign=Campaign.objects.get(pk=campaign.pk))

    pace = context["pace"]
    assert pace.per_minute == pytest.approx(2.1)  # 21 handled in 10 minutes
    left = pace.finish_at - timezone.now()
    assert datetime.timedelta(minutes=18) < left < datetime.timedelta(minutes=20)
    html = render_to_string("campaigns/campaign_detail.html#progress", context)
    assert "about 19" in html
    assert "left at 2.1 messages a minute" in html


def test_a_campaign_started_a_moment_ago_counts_its_pace_since_the_start():
    campaign = running_campaign(pending=10)
    Campaign.objects.filter(pk=campaign.pk).update(
        started_at=timezone.now() - datetime.timedelta(minutes=2)
    )
    account = campaign.pool.members.get().session
    for _ in range(4):
        _sent_for(campaign, account=account, minutes_ago=0)
    pace = campaign_live_context(campaign=Campaign.objects.get(pk=campaign.pk))["pace"]
    assert pace.per_minute == pytest.approx(2, rel=0.05)


@pytest.mark.parametrize(
    ("status", "started_minutes_ago", "recent_sends", "pending"),
    [
        (CampaignStatus.PAUSED, 60, 10, 5),  # nothing is sending
        (CampaignStatus.RUNNING, 0.5, 10, 5),  # too soon to tell
        (CampaignStatus.RUNNING, 60, 2, 5),  # too few sends to tell
        (CampaignStatus.RUNNING, 60, 10, 0),  # nothing left
    ],
)
def test_no_end_is_promised_without_a_pace_to_go_by(
    status, started_minutes_ago, recent_sends, pending
):
    campaign = running_campaign(status=status, pending=pending)
    Campaign.objects.filter(pk=campaign.pk).update(
        started_at=timezone.now() - datetime.timedelta(minutes=started_minutes_ago)
    )
    account = campaign.pool.members.get().session
    for _ in range(recent_sends):
        _sent_for(campaign, account=account, minutes_ago=0)
    context = campaign_live_context(campaign=Campaign.objects.get(pk=campaign.pk))
    assert context["pace"] is None
    assert " left at " not in render_to_string("campaigns/campaign_detail.html#progress", context)


def test_extra_keys_come_from_debtors_who_can_be_messaged():
    DebtorFactory(extra={"branch": "Cali", "agent": "Luz"})
    DebtorFactory(extra={"branch": "Bogotá"})
    DebtorFactory(extra={"hidden": "x"}, opted_out=True)
    assert debtor_extra_keys() == ["agent", "branch"]


# --- the message table -------------------------------------------------------------------------


def test_message_pages_follow_on_without_overlap():
    campaign = running_campaign(pending=5)
    first = campaign_message_page(campaign=campaign, size=2)
    second = campaign_message_page(campaign=campaign, after=first.next_cursor, size=2)
    third = campaign_message_page(campaign=campaign, after=second.next_cursor, size=2)
    seen = [m.pk for page in (first, second, third) for m in page.messages]
    assert seen == sorted(campaign.messages.values_list("pk", flat=True))
    assert (first.is_first, second.is_first) == (True, False)
    assert third.next_cursor is None


def test_message_pages_filter_by_bucket():
    campaign = running_campaign(pending=2, unknown=1, sending=1, claimed=1)
    unknown = campaign_message_page(campaign=campaign, bucket="unknown")
    assert [m.status for m in unknown.messages] == [MessageStatus.UNKNOWN]
    in_progress = campaign_message_page(campaign=campaign, bucket="in_progress")
    assert {m.status for m in in_progress.messages} == {"claimed", "sending"}
    everything = campaign_message_page(campaign=campaign, bucket="")
    assert len(everything.messages) == 5


def test_a_message_page_costs_one_query(django_assert_num_queries):
    campaign = running_campaign(pending=3, sent=3)
    with django_assert_num_queries(1):
        page = campaign_message_page(campaign=campaign)
        rows = [(m.debtor.name, m.session and m.session.name, m.status) for m in page.messages]
    assert len(rows) == 6


def test_a_later_live_context_carries_a_higher_version_so_stale_pushes_lose():
    campaign = running_campaign(pending=1)
    first = campaign_live_context(campaign=campaign)
    second = campaign_live_context(campaign=campaign)
    assert second["version"] > first["version"]
    html = render_to_string("campaigns/campaign_detail.html#progress", second)
    assert f'data-version="{second["version"]}"' in html


def test_preview_renders_for_a_sample_debtor():
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=WhatsAppSessionFactory())
    DebtorFactory(name="Ana Ríos", amount=Decimal("1234567.50"), extra={"sucursal": "Cali"})
    campaign = CampaignFactory(pool=pool, template="{name}: {amount} ({sucursal})")
    preview = campaign_preview(campaign=campaign)
    assert preview.body == "Ana Ríos: $1.234.568 (Cali)"
    assert preview.audience_count == 1
    assert preview.problems == []


def test_the_preview_counts_who_the_guards_leave_out():
    member = PoolMemberFactory()
    DebtorFactory(status=DebtorStatus.PAID)
    DebtorFactory()
    preview = campaign_preview(campaign=CampaignFactory.build(pool=member.pool, audience={}))
    assert (preview.audience_count, preview.guards.closed, preview.guards.recent) == (1, 1, 0)
