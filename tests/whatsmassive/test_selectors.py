import datetime

import pytest
from django.utils import timezone

from campaigns.models import MessageStatus
from tests.factories import MessageFactory, SystemLogFactory, WhatsAppSessionFactory
from whatsmassive.models import LogLevel
from whatsmassive.selectors import (
    CHART_HEIGHT,
    CHART_TOP,
    dashboard_today_context,
    sends_chart,
    sends_per_minute,
    sends_per_minute_chart,
    sends_today_by_account,
    system_log_list,
    system_log_newer,
    system_log_sources,
)

START = datetime.datetime(2026, 3, 2, 13, 55, tzinfo=datetime.UTC)  # 08:55 in Bogotá
BASELINE = CHART_HEIGHT - 28


def _minute(n: int) -> datetime.datetime:
    return START + datetime.timedelta(minutes=n)


def test_the_chart_draws_one_bar_per_minute_scaled_to_a_round_axis_top():
    chart = sends_chart(counts={_minute(1): (3, 0), _minute(4): (6, 2)}, start=START, minutes=10)
    assert [(bar.sent, bar.failed) for bar in chart.bars][:5] == [
        (0, 0),
        (3, 0),
        (0, 0),
        (0, 0),
        (6, 2),
    ]
    assert [tick.value for tick in chart.y_ticks] == [0, 2, 4, 6, 8]
    assert chart.y_ticks[0].y == BASELINE
    assert chart.y_ticks[-1].y == CHART_TOP
    busiest = chart.bars[4]
    # Sent sits on the baseline, failed is stacked on top and reaches the axis top (8).
    assert busiest.sent_y + busiest.sent_height == BASELINE
    assert busiest.failed_y + busiest.failed_height == busiest.sent_y
    assert busiest.failed_y == CHART_TOP
    assert chart.bars[1].sent_height == pytest.approx(busiest.sent_height / 2)
    assert chart.bars[0].sent_height == chart.bars[0].failed_height == 0
    assert chart.bars[1].x > chart.bars[0].x
    assert (chart.sent, chart.failed) == (9, 2)


def test_the_chart_labels_every_ten_minutes_in_local_time():
    chart = sends_chart(counts={}, start=START, minutes=60)
    assert [label.text for label in chart.time_labels] == [
        "09:00",
        "09:10",
        "09:20",
        "09:30",
        "09:40",
        "09:50",
    ]
    assert chart.time_labels[0].x == pytest.approx(
        chart.bars[5].slot_x + chart.bars[5].slot_width / 2, abs=0.01
    )


def test_the_chart_summary_names_totals_and_the_busiest_minute():
    chart = sends_chart(counts={_minute(2): (12, 1), _minute(3): (4, 0)}, start=START, minutes=60)
    assert chart.summary == (
        "Sends per minute from 08:55 to 09:54: 16 sent, 1 failed. Busiest minute 08:57 with 13."
    )
    assert chart.bars[2].label == "08:57: 12 sent, 1 failed"


def test_an_empty_chart_has_flat_bars_an_axis_and_says_nothing_was_sent():
    chart = sends_chart(counts={}, start=START, minutes=60)
    assert chart.is_empty
    assert len(chart.bars) == 60
    assert all(bar.sent_height == bar.failed_height == 0 for bar in chart.bars)
    assert [tick.value for tick in chart.y_ticks] == [0, 1]
    assert chart.summary == "Sends per minute from 08:55 to 09:54: no messages were sent or failed."


@pytest.mark.parametrize(
    ("peak", "ticks"),
    [(1, [0, 1]), (4, [0, 1, 2, 3, 4]), (5, [0, 2, 4, 6]), (37, [0, 10, 20, 30, 40])],
)
def test_the_value_axis_uses_round_steps(peak, ticks):
    chart = sends_chart(counts={START: (peak, 0)}, start=START, minutes=1)
    assert [tick.value for tick in chart.y_ticks] == ticks


@pytest.mark.django_db
def test_sends_per_minute_counts_sent_and_failed_messages_in_one_query(
    django_assert_num_queries,
):
    now = timezone.now().replace(second=30, microsecond=0)
    minute = now.replace(second=0)
    MessageFactory(status=MessageStatus.READ, sent_at=now)
    MessageFactory(status=MessageStatus.SENT, sent_at=now - datetime.timedelta(seconds=20))
    MessageFactory(status=MessageStatus.FAILED, failed_at=now)
    MessageFactory(status=MessageStatus.SENT, sent_at=now - datetime.timedelta(minutes=3))
    MessageFactory(status=MessageStatus.SENT, sent_at=now - datetime.timedelta(hours=2))
    MessageFactory(status=MessageStatus.PENDING)
    with django_assert_num_queries(1):
        counts = sends_per_minute(start=minute - datetime.timedelta(minutes=59))
    assert counts == {minute: (2, 1), minute - datetime.timedelta(minutes=3): (1, 0)}


@pytest.mark.django_db
def test_the_chart_of_the_last_hour_ends_with_the_current_minute():
    now = timezone.now()
    MessageFactory(status=MessageStatus.SENT, sent_at=now)
    chart = sends_per_minute_chart(now=now)
    assert len(chart.bars) == 60
    assert chart.bars[-1].sent == 1
    assert chart.end == now.replace(second=0, microsecond=0)


@pytest.mark.django_db
def test_sends_today_count_each_account_since_local_midnight(django_assert_num_queries):
    busy, idle = WhatsAppSessionFactory(name="A busy"), WhatsAppSessionFactory(name="B idle")
    now = timezone.localtime().replace(hour=12)
    yesterday = now - datetime.timedelta(days=1)
    MessageFactory(session=busy, status=MessageStatus.DELIVERED, sent_at=now)
    MessageFactory(session=busy, status=MessageStatus.SENT, sent_at=now)
    MessageFactory(session=busy, status=MessageStatus.FAILED, failed_at=now)
    MessageFactory(session=busy, status=MessageStatus.SENT, sent_at=yesterday)
    MessageFactory(session=idle, status=MessageStatus.PENDING)
    with django_assert_num_queries(1):
        rows = [(a.name, a.sent_today, a.failed_today) for a in sends_today_by_account(now=now)]
    assert rows == [("A busy", 2, 1), ("B idle", 0, 0)]

    context = dashboard_today_context(now=now)
    assert (context["today_sent"], context["today_failed"]) == (2, 1)


@pytest.mark.django_db
def test_logs_filter_by_minimum_level_source_and_text():
    SystemLogFactory(level=LogLevel.INFO, source="campaigns.engine", message="Campaign started")
    SystemLogFactory(level=LogLevel.ERROR, source="sessions_app.host", message="Chromium crashed")
    SystemLogFactory(level=LogLevel.WARNING, source="campaigns.engine", message="Hourly cap")

    def messages(**filters):
        return {log.message for log in system_log_list(**filters)}

    assert messages(min_level=LogLevel.WARNING) == {"Chromium crashed", "Hourly cap"}
    assert messages(source="campaigns.engine") == {"Campaign started", "Hourly cap"}
    assert messages(search="CHROMIUM") == {"Chromium crashed"}
    assert system_log_sources() == ["campaigns.engine", "sessions_app.host"]


@pytest.mark.django_db
def test_the_live_tail_returns_the_oldest_newer_rows_newest_first():
    seen = SystemLogFactory()
    newer = [SystemLogFactory() for _ in range(5)]
    rows = system_log_newer(logs=system_log_list(), after_id=seen.pk, limit=3)
    assert rows == [newer[2], newer[1], newer[0]]
    rows = system_log_newer(logs=system_log_list(), after_id=newer[2].pk, limit=3)
    assert rows == [newer[4], newer[3]]
