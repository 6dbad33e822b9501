import datetime
import math
from dataclasses import dataclass
from typing import Any, TypedDict

from django.db.models import Count, FilteredRelation, Q, QuerySet
from django.db.models.functions import Coalesce, TruncMinute
from django.utils import timezone
from django_stubs_ext import WithAnnotations

from campaigns.models import Campaign, Message, MessageStatus
from campaigns.results import outcomes_since
from campaigns.selectors import CampaignProgress, campaign_progress_many, campaigns_running
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import today_bounds
from whatsmassive import clock
from whatsmassive.models import AuditRecord, LogLevel, SystemLog

# At most this many rows per live-tail poll; the next poll continues where it stopped.
LOG_TAIL_LIMIT = 100


def system_log_list(
    *, min_level: int | None = None, source: str = "", search: str = ""
) -> QuerySet[SystemLog]:
    logs = SystemLog.objects.all()
    if min_level is not None:
        logs = logs.filter(level__gte=min_level)
    if source:
        logs = logs.filter(source=source)
    if search:
        logs = logs.filter(message__icontains=search)
    return logs


def system_log_newer(
    *, logs: QuerySet[SystemLog], after_id: int, limit: int = LOG_TAIL_LIMIT
) -> list[SystemLog]:
    """The oldest `limit` rows after `after_id`, newest first (the order the page shows)."""
    rows = list(logs.filter(id__gt=after_id).order_by("id")[:limit])
    rows.reverse()
    return rows


def system_log_sources() -> list[str]:
    return list(SystemLog.objects.order_by("source").values_list("source", flat=True).distinct())


def system_log_recent_errors(*, limit: int = 10) -> QuerySet[SystemLog]:
    return system_log_list(min_level=LogLevel.ERROR)[:limit]


def dashboard_running_campaigns() -> list[tuple[Campaign, CampaignProgress]]:
    running = list(campaigns_running())
    progress = campaign_progress_many(campaigns=running)
    return [(campaign, progress[campaign.pk]) for campaign in running]


class SendsToday(TypedDict):
    sent_today: int
    failed_today: int


# Quoted: WithAnnotations takes two arguments only under a type checker.
def sends_today_by_account(
    *, now: datetime.datetime | None = None
) -> "QuerySet[WithAnnotations[WhatsAppSession, SendsToday]]":
    """Every account with `sent_today` and `failed_today` (one query); the same day and
    counts as the accounts list's (sessions_app.selectors.session_counts_today)."""
    start, end = today_bounds(now)
    return WhatsAppSession.objects.annotate(
        today=FilteredRelation(
            "messages",
            condition=Q(messages__sent_at__gte=start, messages__sent_at__lt=end)
            | Q(messages__failed_at__gte=start, messages__failed_at__lt=end),
        ),
        sent_today=Count("today", filter=Q(today__sent_at__gte=start, today__sent_at__lt=end)),
        failed_today=Count(
            "today", filter=Q(today__failed_at__gte=start, today__failed_at__lt=end)
        ),
    ).order_by("name")


# The dashboard's results cover the messages sent within this many days.
RESULTS_DAYS = 7


def dashboard_results_context() -> dict[str, Any]:
    since = clock.now() - datetime.timedelta(days=RESULTS_DAYS)
    return {"results": outcomes_since(since=since), "results_days": RESULTS_DAYS}


def dashboard_today_context(*, now: datetime.datetime | None = None) -> dict[str, Any]:
    accounts = list(sends_today_by_account(now=now))
    return {
        "accounts_today": accounts,
        "today_sent": sum(account.sent_today for account in accounts),
        "today_failed": sum(account.failed_today for account in accounts),
    }


# Chart geometry in SVG user units; the SVG scales to its container's width.
CHART_WIDTH = 600
CHART_HEIGHT = 220
CHART_LEFT = 40
CHART_RIGHT = 8
CHART_TOP = 12
CHART_BOTTOM = 28
CHART_BAR_FILL = 0.7  # share of each minute's slot the bar covers
CHART_LABEL_EVERY = 10  # minutes between labels on the time axis
PLOT_LEFT, PLOT_RIGHT = CHART_LEFT, CHART_WIDTH - CHART_RIGHT
PLOT_TOP, PLOT_BOTTOM = CHART_TOP, CHART_HEIGHT - CHART_BOTTOM


@dataclass(frozen=True)
class ChartBar:
    minute: datetime.datetime
    sent: int
    failed: int
    slot_x: float
    slot_width: float
    x: float
    width: float
    sent_y: float
    sent_height: float
    failed_y: float
    failed_height: float

    @property
    def label(self) -> str:
        return f"{timezone.localtime(self.minute):%H:%M}: {self.sent} sent, {self.failed} failed"


@dataclass(frozen=True)
class ChartTick:
    value: int
    y: float


@dataclass(frozen=True)
class ChartTimeLabel:
    text: str
    x: float


@dataclass(frozen=True)
class SendsChart:
    bars: list[ChartBar]
    y_ticks: list[ChartTick]
    time_labels: list[ChartTimeLabel]
    sent: int
    failed: int
    start: datetime.datetime
    end: datetime.datetime
    width: int = CHART_WIDTH
    height: int = CHART_HEIGHT
    plot_left: int = PLOT_LEFT
    plot_right: int = PLOT_RIGHT
    plot_top: int = PLOT_TOP
    plot_bottom: int = PLOT_BOTTOM

    @property
    def plot_height(self) -> int:
        return self.plot_bottom - self.plot_top

    @property
    def value_label_x(self) -> int:
        return self.plot_left - 6

    @property
    def time_label_y(self) -> int:
        return self.height - 8

    @property
    def plot_center_x(self) -> float:
        return (self.plot_left + self.plot_right) / 2

    @property
    def plot_center_y(self) -> float:
        return (self.plot_top + self.plot_bottom) / 2

    @property
    def is_empty(self) -> bool:
        return not (self.sent or self.failed)

    @property
    def busiest(self) -> ChartBar | None:
        return max(self.bars, key=lambda bar: bar.sent + bar.failed, default=None)

    @property
    def summary(self) -> str:
        span = f"{timezone.localtime(self.start):%H:%M} to {timezone.localtime(self.end):%H:%M}"
        if self.is_empty or (busiest := self.busiest) is None:
            return f"Sends per minute from {span}: no messages were sent or failed."
        return (
            f"Sends per minute from {span}: {self.sent} sent, {self.failed} failed. "
            f"Busiest minute {timezone.localtime(busiest.minute):%H:%M} "
            f"with {busiest.sent + busiest.failed}."
        )


def _y_scale(peak: int) -> tuple[int, int]:
    """A round step (1, 2 or 5 times a power of ten) and the axis top: at most four steps."""
    magnitude = 1
    while True:
        for factor in (1, 2, 5):
            step = factor * magnitude
            if step * 4 >= peak:
                return step, step * max(1, math.ceil(peak / step))
        magnitude *= 10


def sends_chart(
    *, counts: dict[datetime.datetime, tuple[int, int]], start: datetime.datetime, minutes: int
) -> SendsChart:
    """Bars for `minutes` minutes from `start`: `counts` maps a minute to (sent, failed)."""
    slot = (PLOT_RIGHT - PLOT_LEFT) / minutes
    bar_width = slot * CHART_BAR_FILL
    per_minute = [
        (
            start + datetime.timedelta(minutes=i),
            *counts.get(start + datetime.timedelta(minutes=i), (0, 0)),
        )
        for i in range(minutes)
    ]
    step, top = _y_scale(max((sent + failed for _, sent, failed in per_minute), default=0))
    scale = (PLOT_BOTTOM - PLOT_TOP) / top
    bars = []
    time_labels = []
    for i, (minute, sent, failed) in enumerate(per_minute):
        slot_x = PLOT_LEFT + i * slot
        sent_height = sent * scale
        failed_height = failed * scale
        bars.append(
            ChartBar(
                minute=minute,
                sent=sent,
                failed=failed,
                slot_x=round(slot_x, 2),
                slot_width=round(slot, 2),
                x=round(slot_x + (slot - bar_width) / 2, 2),
                width=round(bar_width, 2),
                sent_y=round(PLOT_BOTTOM - sent_height, 2),
                sent_height=round(sent_height, 2),
                failed_y=round(PLOT_BOTTOM - sent_height - failed_height, 2),
                failed_height=round(failed_height, 2),
            )
        )
        local = timezone.localtime(minute)
        if local.minute % CHART_LABEL_EVERY == 0:
            time_labels.append(ChartTimeLabel(f"{local:%H:%M}", round(slot_x + slot / 2, 2)))
    y_ticks = [
        ChartTick(value, round(PLOT_BOTTOM - value * scale, 2)) for value in range(0, top + 1, step)
    ]
    return SendsChart(
        bars=bars,
        y_ticks=y_ticks,
        time_labels=time_labels,
        sent=sum(bar.sent for bar in bars),
        failed=sum(bar.failed for bar in bars),
        start=start,
        end=start + datetime.timedelta(minutes=minutes - 1),
    )


def sends_per_minute(*, start: datetime.datetime) -> dict[datetime.datetime, tuple[int, int]]:
    """(sent, failed) per minute since `start`, from one grouped query."""
    rows = (
        Message.objects.filter(Q(sent_at__gte=start) | Q(failed_at__gte=start))
        .annotate(minute=TruncMinute(Coalesce("sent_at", "failed_at")))
        .order_by()
        .values("minute")
        .annotate(
            sent=Count("id", filter=Q(sent_at__isnull=False)),
            failed=Count("id", filter=Q(status=MessageStatus.FAILED)),
        )
    )
    return {row["minute"]: (row["sent"], row["failed"]) for row in rows}


def sends_per_minute_chart(
    *, now: datetime.datetime | None = None, minutes: int = 60
) -> SendsChart:
    """The last `minutes` minutes, the current one included."""
    current = (now or timezone.now()).replace(second=0, microsecond=0)
    start = current - datetime.timedelta(minutes=minutes - 1)
    return sends_chart(counts=sends_per_minute(start=start), start=start, minutes=minutes)


AUDIT_PAGE_SIZE = 100


def audit_search(
    *,
    phone_e164: str = "",
    session: WhatsAppSession | None = None,
    campaign: Campaign | None = None,
    kind: str = "",
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
) -> QuerySet[AuditRecord]:
    """Audit records matching every filter given; `until` is exclusive."""
    records = AuditRecord.objects.all()
    if phone_e164:
        records = records.filter(phone_e164=phone_e164)
    if session is not None:
        records = records.filter(session=session)
    if campaign is not None:
        records = records.filter(campaign=campaign)
    if kind:
        records = records.filter(kind=kind)
    if since is not None:
        records = records.filter(at__gte=since)
    if until is not None:
        records = records.filter(at__lt=until)
    return records


@dataclass(frozen=True)
class AuditPage:
    records: list[AuditRecord]
    next_cursor: int | None
    is_first: bool


def audit_page(
    *, records: QuerySet[AuditRecord], before: int | None = None, size: int = AUDIT_PAGE_SIZE
) -> AuditPage:
    """Newest first, continuing before id `before` (keyset: page 1,000 costs what page 1 costs)."""
    if before is not None:
        records = records.filter(id__lt=before)
    rows = list(records.select_related("campaign", "session").order_by("-id")[: size + 1])
    next_cursor = rows[size - 1].pk if len(rows) > size else None
    return AuditPage(records=rows[:size], next_cursor=next_cursor, is_first=before is None)
