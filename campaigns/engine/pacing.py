"""Pacing: how long an account must wait before its next send."""

import bisect
import datetime
import random
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone

from campaigns.engine.claims import ClaimScope
from campaigns.models import Message
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import (
    local_day_start,
    session_new_chat_budget,
    session_new_chats_opened,
)
from whatsmassive import clock

# An unhealthy account waits this many times as long between sends.
UNHEALTHY_DELAY_FACTOR = 2
_NEVER = datetime.datetime.min.replace(tzinfo=datetime.UTC)


@dataclass
class Pacer:
    """One account's sending budget: delay, hourly and daily caps, active hours.

    The earliest next send is kept in the database (`next_send_at`); the caps count this
    account's sends, loaded from Message rows when the host starts and kept up to date by
    the host (the only sender for its account). It also remembers which campaigns the
    account serves, for the send loop, and how many chats it opened today (its local day),
    loaded the same way and counted up by the settle.
    """

    session: WhatsAppSession
    # Send times of the last day, oldest first.
    recent: list[datetime.datetime] = field(default_factory=list)
    scope: ClaimScope = field(default_factory=ClaimScope)
    new_chats: int = 0
    new_chats_since: datetime.datetime = _NEVER

    @classmethod
    def load(cls, session: WhatsAppSession) -> "Pacer":
        since = timezone.now() - datetime.timedelta(days=1)
        sent_at = (
            Message.objects.filter(session=session, sent_at__gte=since)
            .order_by("sent_at")
            .values_list("sent_at", flat=True)
        )
        today = clock.now()  # the budget's day, as its decisions read it
        return cls(
            session=session,
            recent=[at for at in sent_at if at is not None],
            new_chats=session_new_chats_opened(session=session, now=today),
            new_chats_since=local_day_start(session=session, now=today),
        )

    def record(self, when: datetime.datetime) -> None:
        self.recent.append(when)

    def record_new_chat(self, when: datetime.datetime) -> None:
        self.new_chats_spent(when)
        self.new_chats += 1

    def new_chats_spent(self, now: datetime.datetime) -> bool:
        """Today's new-chat budget is used up: only numbers it chats with may be sent to."""
        day = local_day_start(session=self.session, now=now)
        if day != self.new_chats_since:
            self.new_chats, self.new_chats_since = 0, day
        return self.new_chats >= session_new_chat_budget(session=self.session, now=now)

    def next_delay(self) -> float:
        session = self.session
        low, high = session.min_delay_seconds, session.max_delay_seconds
        if session.health_score is not None and (
            session.health_score < settings.WHATSAPP_HEALTH_SLOW_BELOW
        ):
            low, high = low * UNHEALTHY_DELAY_FACTOR, high * UNHEALTHY_DELAY_FACTOR
        return random.uniform(low, high)

    def wait_seconds(self, now: datetime.datetime) -> float:
        """0 when the account may send now, else how long until it may."""
        session = self.session
        recent = self.recent
        del recent[: bisect.bisect_left(recent, now - datetime.timedelta(days=1))]
        zone = ZoneInfo(session.time_zone)
        local = now.astimezone(zone)
        waits = [0.0]
        if session.next_send_at and session.next_send_at > now:
            waits.append((session.next_send_at - now).total_seconds())
        window = _seconds_until_active(local, session.active_from, session.active_until)
        waits.append(window)
        in_last_hour = len(recent) - bisect.bisect_left(recent, now - datetime.timedelta(hours=1))
        if in_last_hour >= session.hourly_cap:
            oldest = recent[len(recent) - session.hourly_cap]
            waits.append((oldest + datetime.timedelta(hours=1) - now).total_seconds())
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        if len(recent) - bisect.bisect_left(recent, midnight) >= session.daily_cap:
            waits.append((midnight + datetime.timedelta(days=1) - local).total_seconds())
        return max(waits)


def _seconds_until_active(
    local: datetime.datetime, start: datetime.time, end: datetime.time
) -> float:
    if start == end:  # the same time twice means all day
        return 0.0
    now_t = local.time()
    # A window may cross midnight, e.g. 20:00-02:00.
    inside = (start <= now_t < end) if start <= end else (now_t >= start or now_t < end)
    if inside:
        return 0.0
    opens = local.replace(hour=start.hour, minute=start.minute, second=0, microsecond=0)
    if opens <= local:
        opens += datetime.timedelta(days=1)
    return (opens - local).total_seconds()
