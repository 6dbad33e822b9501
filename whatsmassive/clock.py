"""The time the product runs on, read from one place so that tests can move it.

Contact windows, caps, budgets and promise dates all depend on "now": code that decides
with them calls `clock.now()` (or `clock.today()`) instead of `timezone.now()`, and a test
moves the clock with `clock.moved_to(...)` to a DST change, a
holiday or past a promise's date. Only the process that moves it sees the moved time.
"""

import contextlib
import datetime
from collections.abc import Iterator

from django.utils import timezone

_offset = datetime.timedelta(0)


def now() -> datetime.datetime:
    return timezone.now() + _offset


def today() -> datetime.date:
    """The date in the server's time zone (TIME_ZONE)."""
    return timezone.localdate(now())


@contextlib.contextmanager
def moved_to(when: datetime.datetime) -> Iterator[None]:
    """Run the block as if the time were `when` (an aware datetime), the clock still running."""
    global _offset
    saved = _offset
    _offset = when - timezone.now()
    try:
        yield
    finally:
        _offset = saved
