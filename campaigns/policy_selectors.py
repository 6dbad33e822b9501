"""Reads about contact policies: the console's list, and what a campaign's policy holds back.

A campaign's pending messages wait when their zone group is outside its window (or on a
holiday) or, in an open group, when their debtor has reached a cap. Both are worked out per
zone group, in Python, from `Campaign.time_zones` and the policy's rules, as the claim does:
SQL only counts, with the instants computed here.
"""

import datetime
import functools
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from django.db.models import Count, Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from campaigns.engine.claims import CONTACTED_STATUSES
from campaigns.engine.windows import campaign_zone_sets
from campaigns.models import Campaign, CampaignStatus, ContactPolicy, Message, MessageStatus
from campaigns.policies import (
    WEEKDAY_LABELS,
    Rules,
    day_start,
    next_open,
    zone_label,
    zones_open,
)
from whatsmassive import clock


def contact_policy_list() -> QuerySet[ContactPolicy]:
    """Every policy, the default first, with how many campaigns follow it."""
    return ContactPolicy.objects.annotate(
        campaign_count=Count("campaigns"),
        running_count=Count("campaigns", filter=Q(campaigns__status=CampaignStatus.RUNNING)),
    ).order_by("-is_default", "name")


@functools.cache
def _zone_countries() -> dict[str, str]:
    """Zone -> country name, from the system's tzdata tables ({} where they are missing)."""
    for base in zoneinfo.TZPATH:
        zones, names = Path(base, "zone.tab"), Path(base, "iso3166.tab")
        if zones.exists() and names.exists():
            break
    else:
        return {}
    countries = dict(_tab_rows(names, 2))
    return {row[2]: countries.get(row[0], "") for row in _tab_rows(zones, 3)}


def _tab_rows(path: Path, width: int) -> list[list[str]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            rows.append(line.split("\t")[:width])
    return rows


def zones_country(zones: str) -> str:
    """The one country of these zones, or "" when they span several or are unknown."""
    countries = {_zone_countries().get(zone, "") for zone in zones.split()}
    return countries.pop() if len(countries) == 1 else ""


@dataclass(frozen=True)
class WaitingGroup:
    """Pending messages of one zone group that cannot go now, and when they next may."""

    zones: str
    country: str
    waiting: int
    over_cap: bool  # in their window, but their debtors reached a cap
    opens_at: datetime.datetime | None  # None: not within the policy's look-ahead

    @property
    def opens_local(self) -> datetime.datetime | None:
        if self.opens_at is None:
            return None
        return self.opens_at.astimezone(zoneinfo.ZoneInfo(self.zones.split()[0]))

    @property
    def sentence(self) -> str:
        """ "412 debtors in Colombia: next window Monday 07:00 Bogota"."""
        place = zone_label(self.zones)
        where = self.country or place
        debtors = ngettext(
            "%(count)s debtor in %(where)s", "%(count)s debtors in %(where)s", self.waiting
        ) % {"count": f"{self.waiting:,}", "where": where}
        local = self.opens_local
        if local is None:
            return _("%(debtors)s: no window opens in the next two weeks") % {"debtors": debtors}
        when = {
            "debtors": debtors,
            "day": WEEKDAY_LABELS[local.weekday()],
            "time": local.strftime("%H:%M"),
            "place": place,
        }
        if self.over_cap:
            return _("%(debtors)s reached the cap: next window %(day)s %(time)s %(place)s") % when
        return _("%(debtors)s: next window %(day)s %(time)s %(place)s") % when


def _over_cap(
    campaign: Campaign, policy: ContactPolicy, group: int, zones: list[str], now: datetime.datetime
) -> int:
    """Pending messages of an open group whose debtor reached a cap of the policy."""
    caps = []
    if policy.max_per_day:
        caps.append((day_start(zones, now), policy.max_per_day))
    if policy.max_per_period and policy.period_days:
        caps.append(
            (day_start(zones, now, days_back=policy.period_days - 1), policy.max_per_period)
        )
    if not caps:
        return 0
    reached = Q()
    for since, cap in caps:
        contacts = (
            Message.objects.filter(debtor_id=OuterRef("debtor_id"), status__in=CONTACTED_STATUSES)
            .filter(Q(claimed_at__gte=since) | Q(claimed_at__isnull=True, sent_at__gte=since))
            .order_by()
            .values("debtor_id")
            .annotate(total=Count("id"))
            .filter(total__gte=cap)
        )
        reached |= Q(Exists(contacts))
    pending = Message.objects.filter(
        campaign=campaign, status=MessageStatus.PENDING, zone_group=group
    )
    return pending.filter(reached).count()


def _next_day_open(
    rules: Rules, zones: list[str], now: datetime.datetime
) -> datetime.datetime | None:
    """The first window after the local day ends (when a day's cap is lifted)."""
    tomorrow = day_start(zones, now) + datetime.timedelta(days=1)
    return next_open(rules, zones, max(tomorrow, now))


def campaign_waiting(
    *, campaign: Campaign, now: datetime.datetime | None = None
) -> list[WaitingGroup]:
    """Per zone group, the pending messages its policy holds back now; none held, none said.

    Before start (a draft) the groups are not known yet: the debtors' zones are read at
    start, so the summary is empty until then.
    """
    policy = campaign.policy
    if policy is None or campaign.status not in (CampaignStatus.RUNNING, CampaignStatus.PAUSED):
        return []
    now = now or clock.now()
    rules = policy.rules
    pending = dict(
        Message.objects.filter(campaign=campaign, status=MessageStatus.PENDING)
        .order_by()
        .values("zone_group")
        .annotate(total=Count("id"))
        .values_list("zone_group", "total")
    )
    waiting = []
    for group, key in enumerate(campaign_zone_sets(campaign)):
        total = pending.get(group, 0)
        if not total:
            continue
        zones = key.split()
        if not zones_open(rules, zones, now):
            opens_at, count, over_cap = next_open(rules, zones, now), total, False
        else:
            count, over_cap = _over_cap(campaign, policy, group, zones, now), True
            if not count:
                continue
            opens_at = _next_day_open(rules, zones, now)
        waiting.append(
            WaitingGroup(
                zones=key,
                country=zones_country(key),
                waiting=count,
                over_cap=over_cap,
                opens_at=opens_at,
            )
        )
    return sorted(waiting, key=lambda group: -group.waiting)
