"""Which zone groups of the running campaigns their contact policies open now.

Computed in Python once per scope refresh, not per message: a campaign has a handful of
zone groups (its debtors' time zones, set at start), and the claim takes the open ones
as one array (see claims.py). Each answer says until when it holds, so that a window
closing between two refreshes is seen at the instant it closes.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings

from campaigns.models import ZONE_GROUPS, Campaign, ContactPolicy
from campaigns.policies import day_start, next_change, zones_open


@dataclass(frozen=True)
class OpenWindow:
    """A zone group that may be written to now, and the caps its debtors are under.

    `key` is the message's zone window (campaign id x ZONE_GROUPS + zone group); the caps
    are 0 when the policy has none, and count contacts since the given instants.
    """

    key: int
    day_start: datetime.datetime
    day_cap: int
    period_start: datetime.datetime
    period_cap: int

    @property
    def has_caps(self) -> bool:
        return bool(self.day_cap or self.period_cap)


@dataclass(frozen=True)
class OpenWindows:
    windows: list[OpenWindow]
    until: datetime.datetime  # the first instant at which one of them may open or close

    @property
    def has_caps(self) -> bool:
        return any(window.has_caps for window in self.windows)


def campaign_zone_sets(campaign: Campaign) -> list[str]:
    """The campaign's zone keys by zone group (campaigns from before policies: the server's)."""
    return list(campaign.time_zones) or [settings.TIME_ZONE]


def _group_window(
    campaign: Campaign, policy: ContactPolicy, group: int, zones: list[str], now: datetime.datetime
) -> OpenWindow:
    period = policy.period_days if policy.max_per_period and policy.period_days else 1
    return OpenWindow(
        key=campaign.pk * ZONE_GROUPS + group,
        day_start=day_start(zones, now),
        day_cap=policy.max_per_day or 0,
        period_start=day_start(zones, now, days_back=period - 1),
        period_cap=(policy.max_per_period or 0) if policy.period_days else 0,
    )


def open_windows(campaigns: list[Campaign], now: datetime.datetime) -> OpenWindows:
    """The open zone groups of these campaigns (their policies loaded), in campaign order.

    A campaign without a policy opens nothing: it cannot start without one, and one whose
    policy was taken away waits.
    """
    windows = []
    until = now + datetime.timedelta(days=1)
    for campaign in campaigns:
        policy = campaign.policy
        if policy is None:
            continue
        rules = policy.rules
        for group, key in enumerate(campaign_zone_sets(campaign)):
            zones = key.split()
            until = min(until, next_change(rules, zones, now))
            if zones_open(rules, zones, now):
                windows.append(_group_window(campaign, policy, group, zones, now))
    return OpenWindows(windows=windows, until=until)
