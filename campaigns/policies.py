"""Contact policies as rules of time: when a debtor's local clock allows a message.

Pure functions over a policy's windows, its holiday country and a set of time zones. The
engine asks them once per scope refresh which of a campaign's zone groups are open now
(`campaigns.engine.claims`), the pages ask when the next window opens.

Windows are stored per weekday (Monday first) as "HH:MM" pairs, `until` excluded; "24:00"
ends a window at midnight. A debtor whose phone maps to several zones may be written to
only while every one of them is inside a window and outside a holiday.
"""

import datetime
import functools
import itertools
import re
import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import holidays
import phonenumbers
from django.conf import settings
from django.utils.translation import gettext
from phonenumbers import timezone as phone_timezones
from phonenumbers.tzdata import TIMEZONE_LONGEST_PREFIX

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
DAY_SECONDS = 24 * 3600
# How far ahead the next opening is looked for: a policy closed for longer says "none".
LOOKAHEAD_DAYS = 15
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")

Windows = list[list[list[str]]]  # per weekday, [[from, until], ...]


class WindowsError(ValueError):
    """Windows that cannot be stored; the message is for the operator."""


def _seconds(text: str) -> int:
    if not _TIME.match(text):
        raise WindowsError(
            gettext("“%(text)s” is not a time: write it as HH:MM, from 00:00 to 24:00.")
            % {"text": text}
        )
    hours, minutes = text.split(":")
    return int(hours) * 3600 + int(minutes) * 60


def windows_check(windows: object) -> Windows:
    """The windows, sorted, or WindowsError saying what is wrong with them."""
    if not isinstance(windows, list) or len(windows) != len(WEEKDAYS):
        raise WindowsError(
            gettext("The windows need one list of ranges per weekday, Monday first.")
        )
    checked: Windows = []
    for day, ranges in zip(WEEKDAYS, windows, strict=True):
        if not isinstance(ranges, list):
            raise WindowsError(
                gettext("%(day)s: the ranges must be a list.") % {"day": gettext(day)}
            )
        spans = []
        for pair in ranges:
            if not (isinstance(pair, list | tuple) and len(pair) == 2):
                raise WindowsError(
                    gettext("%(day)s: every range needs a start and an end.")
                    % {"day": gettext(day)}
                )
            start, end = _seconds(str(pair[0])), _seconds(str(pair[1]))
            if start >= end:
                raise WindowsError(
                    gettext("%(day)s: %(start)s-%(end)s must start before it ends.")
                    % {"day": gettext(day), "start": pair[0], "end": pair[1]}
                )
            spans.append((start, end, [str(pair[0]), str(pair[1])]))
        spans.sort()
        for (_, end, earlier), (start, _, later) in itertools.pairwise(spans):
            if start < end:
                raise WindowsError(
                    gettext("%(day)s: %(first)s and %(second)s overlap.")
                    % {
                        "day": gettext(day),
                        "first": f"{earlier[0]}-{earlier[1]}",
                        "second": f"{later[0]}-{later[1]}",
                    }
                )
        checked.append([text for _, _, text in spans])
    return checked


def windows_parse(text: str) -> list[list[str]]:
    """One weekday's ranges as an operator types them: "07:00-12:00, 14:00-19:00"."""
    ranges = []
    for part in text.replace("\u2013", "-").split(","):
        part = part.strip()
        if not part:
            continue
        bounds = [bound.strip() for bound in part.split("-")]
        if len(bounds) != 2:
            raise WindowsError(
                gettext("“%(part)s” is not a range: write it as 07:00-19:00.") % {"part": part}
            )
        ranges.append(bounds)
    return ranges


def windows_format(ranges: Sequence[Sequence[str]]) -> str:
    return ", ".join(f"{start}-{end}" for start, end in ranges)


@dataclass(frozen=True)
class Rules:
    """What a policy says about time, in seconds from local midnight per weekday."""

    windows: tuple[tuple[tuple[int, int], ...], ...]
    holiday_country: str = ""

    @classmethod
    def of(cls, windows: Windows, holiday_country: str = "") -> "Rules":
        return cls(
            windows=tuple(
                tuple((_seconds(start), _seconds(end)) for start, end in day) for day in windows
            ),
            holiday_country=holiday_country,
        )


@functools.cache
def _holidays(country: str, year: int) -> holidays.HolidayBase:
    return holidays.country_holidays(country, years=year)


def is_holiday(country: str, day: datetime.date) -> bool:
    return bool(country) and day in _holidays(country, day.year)


@functools.cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(name)


def zone_open(rules: Rules, zone: str, instant: datetime.datetime) -> bool:
    local = instant.astimezone(_zone(zone))
    if is_holiday(rules.holiday_country, local.date()):
        return False
    second = local.hour * 3600 + local.minute * 60 + local.second
    return any(start <= second < end for start, end in rules.windows[local.weekday()])


def zones_open(rules: Rules, zones: Iterable[str], instant: datetime.datetime) -> bool:
    return all(zone_open(rules, zone, instant) for zone in zones)


def _local_instants(zone: str, day: datetime.date, second: int) -> list[datetime.datetime]:
    """The instants a local wall time names: one, or two around a DST change (both folds)."""
    midnight = datetime.datetime.combine(day, datetime.time(), tzinfo=_zone(zone))
    if second >= DAY_SECONDS:
        return _local_instants(zone, day + datetime.timedelta(days=1), 0)
    wall = midnight + datetime.timedelta(seconds=second)
    return [wall.astimezone(datetime.UTC), wall.replace(fold=1).astimezone(datetime.UTC)]


def _boundaries(
    rules: Rules, zones: Iterable[str], after: datetime.datetime, days: int
) -> list[datetime.datetime]:
    """Every instant after `after`, within `days`, where a zone's window or day may change."""
    found: set[datetime.datetime] = set()
    for zone in zones:
        today = after.astimezone(_zone(zone)).date()
        for offset in range(-1, days + 1):
            day = today + datetime.timedelta(days=offset)
            seconds = {0, *(edge for span in rules.windows[day.weekday()] for edge in span)}
            for second in seconds:
                found.update(at for at in _local_instants(zone, day, second) if at > after)
    return sorted(found)


def next_change(
    rules: Rules, zones: Iterable[str], instant: datetime.datetime
) -> datetime.datetime:
    """The first instant after `instant` at which the open state may change (never later)."""
    edges = _boundaries(rules, list(zones), instant, 1)
    return edges[0] if edges else instant + datetime.timedelta(days=1)


def next_open(
    rules: Rules, zones: Iterable[str], instant: datetime.datetime
) -> datetime.datetime | None:
    """When every zone is open together, from `instant` on; None within LOOKAHEAD_DAYS."""
    zones = list(zones)
    if zones_open(rules, zones, instant):
        return instant
    for edge in _boundaries(rules, zones, instant, LOOKAHEAD_DAYS):
        if zones_open(rules, zones, edge):
            return edge
    return None


def day_start(
    zones: Iterable[str], instant: datetime.datetime, days_back: int = 0
) -> datetime.datetime:
    """The earliest local midnight, `days_back` days before today, among the zones."""
    starts = []
    for zone in zones:
        local = instant.astimezone(_zone(zone)).date() - datetime.timedelta(days=days_back)
        starts.append(datetime.datetime.combine(local, datetime.time(), tzinfo=_zone(zone)))
    return min(start.astimezone(datetime.UTC) for start in starts)


@functools.cache
def _available_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def time_zone_valid(name: str) -> bool:
    return name in _available_zones()


def zones_key(zones: Iterable[str]) -> str:
    """A set of zones as one string, the same for the same set: "America/Bogota"."""
    return " ".join(sorted(set(zones)))


# (leading digits, length) -> zones: phone zones depend on the longest prefix of the zone
# data and on the number's type, which its length and prefix decide.
_PHONE_ZONES: dict[tuple[str, int], tuple[str, ...]] = {}


def _phone_zones(phone_e164: str) -> tuple[str, ...]:
    key = (phone_e164[: TIMEZONE_LONGEST_PREFIX + 1], len(phone_e164))
    zones = _PHONE_ZONES.get(key)
    if zones is None:
        try:
            number = phonenumbers.parse(phone_e164)
        except phonenumbers.NumberParseException:
            zones = ()
        else:
            found = phone_timezones.time_zones_for_number(number)
            zones = tuple(zone for zone in found if time_zone_valid(zone))
        _PHONE_ZONES[key] = zones
    return zones


def debtor_zones(*, phone_e164: str, time_zone: str) -> str:
    """The debtor's zone key: its own time zone, else its phone's, else the server's.

    Phone zones are looked up once per leading digits and length, so a fan-out of 100,000
    debtors parses each prefix once.
    """
    if time_zone:
        return time_zone
    return zones_key(_phone_zones(phone_e164)) or settings.TIME_ZONE


def zone_label(zones: str) -> str:
    """City names for sentences on the pages: "America/Bogota" -> "Bogota"."""
    names = [zone.rsplit("/", 1)[-1].replace("_", " ") for zone in zones.split()]
    return names[0] if len(names) == 1 else f"{len(names)} time zones ({', '.join(names[:3])}…)"
