import datetime
import zoneinfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from campaigns.policies import (
    Rules,
    WindowsError,
    debtor_zones,
    next_change,
    next_open,
    windows_check,
    zones_open,
)

COLOMBIA = [*[[["07:00", "19:00"]]] * 5, [["08:00", "15:00"]], []]
BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
NEW_YORK = zoneinfo.ZoneInfo("America/New_York")


def test_windows_are_sorted_and_may_end_at_midnight():
    windows = [[["14:00", "24:00"], ["00:00", "09:00"]], *[[]] * 6]
    assert windows_check(windows)[0] == [["00:00", "09:00"], ["14:00", "24:00"]]


@pytest.mark.parametrize(
    ("ranges", "error"),
    [
        ([["09:00", "08:00"]], "must start before it ends"),
        ([["08:00", "12:00"], ["11:00", "13:00"]], "overlap"),
        ([["8am", "12:00"]], "is not a time"),
        ([["08:00", "24:30"]], "is not a time"),
    ],
)
def test_bad_windows_are_refused_with_a_reason(ranges, error):
    with pytest.raises(WindowsError, match=error):
        windows_check([ranges, *[[]] * 6])


def test_colombia_is_closed_on_sundays_and_holidays_and_open_on_weekdays():
    rules = Rules.of(COLOMBIA, "CO")
    tuesday = datetime.datetime(2026, 12, 1, 10, tzinfo=BOGOTA)
    sunday = datetime.datetime(2026, 12, 6, 10, tzinfo=BOGOTA)
    immaculate_conception = datetime.datetime(2026, 12, 8, 10, tzinfo=BOGOTA)
    assert zones_open(rules, ["America/Bogota"], tuesday)
    assert not zones_open(rules, ["America/Bogota"], sunday)
    assert not zones_open(rules, ["America/Bogota"], immaculate_conception)
    assert next_open(rules, ["America/Bogota"], sunday) == datetime.datetime(
        2026, 12, 7, 7, tzinfo=BOGOTA
    )


def test_a_number_with_several_zones_waits_until_every_zone_is_open():
    rules = Rules.of([[["08:00", "21:00"]]] * 7)
    # 08:30 in New York is 07:30 in Chicago.
    instant = datetime.datetime(2026, 12, 1, 8, 30, tzinfo=NEW_YORK)
    assert zones_open(rules, ["America/New_York"], instant)
    assert not zones_open(rules, ["America/New_York", "America/Chicago"], instant)
    assert next_open(rules, ["America/New_York", "America/Chicago"], instant) == (
        datetime.datetime(2026, 12, 1, 9, tzinfo=NEW_YORK)
    )


def test_windows_follow_the_local_clock_across_a_dst_change():
    rules = Rules.of([[["08:00", "21:00"]]] * 7)
    # New York moves to daylight time on 2026-03-08: 08:00 local is 12:00 UTC, not 13:00.
    assert zones_open(
        rules, ["America/New_York"], datetime.datetime(2026, 3, 8, 12, 0, tzinfo=datetime.UTC)
    )
    assert not zones_open(
        rules, ["America/New_York"], datetime.datetime(2026, 3, 7, 12, 0, tzinfo=datetime.UTC)
    )


def test_debtor_zones_come_from_the_phone_unless_the_debtor_has_one():
    assert debtor_zones(phone_e164="+573001234567", time_zone="") == "America/Bogota"
    assert debtor_zones(phone_e164="+573001234567", time_zone="Europe/Madrid") == "Europe/Madrid"
    assert debtor_zones(phone_e164="+13125550100", time_zone="") == "America/Chicago"


ZONES = ["America/Bogota", "America/New_York", "America/Chicago", "Europe/Madrid", "Asia/Kolkata"]


@st.composite
def day_windows(draw):
    edges = sorted(draw(st.sets(st.integers(0, 96), max_size=6)))
    ranges = [
        [f"{a // 4:02d}:{a % 4 * 15:02d}", f"{b // 4:02d}:{b % 4 * 15:02d}"]
        for a, b in zip(edges[::2], edges[1::2], strict=False)
    ]
    return ranges


@settings(max_examples=150, deadline=None)
@given(
    windows=st.lists(day_windows(), min_size=7, max_size=7),
    country=st.sampled_from(["", "CO", "US", "MX"]),
    zones=st.sets(st.sampled_from(ZONES), min_size=1, max_size=3),
    instant=st.datetimes(  # hypothesis bounds are naive; the values get UTC below
        min_value=datetime.datetime(2026, 1, 1),  # noqa: DTZ001
        max_value=datetime.datetime(2027, 12, 31),  # noqa: DTZ001
    ).map(lambda at: at.replace(tzinfo=datetime.UTC)),
)
def test_the_open_state_never_changes_before_next_change(windows, country, zones, instant):
    rules = Rules.of(windows_check(windows), country)
    change = next_change(rules, zones, instant)
    assert change > instant
    state = zones_open(rules, zones, instant)
    probe = instant
    while probe < change:
        assert zones_open(rules, zones, probe) == state
        probe += (change - instant) / 7
    opens = next_open(rules, zones, instant)
    if opens is not None:
        assert zones_open(rules, zones, opens)
