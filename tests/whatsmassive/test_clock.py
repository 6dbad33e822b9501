import datetime
import zoneinfo

from django.utils import timezone

from whatsmassive import clock


def test_it_follows_the_real_time_unless_moved():
    before = timezone.now()
    assert before <= clock.now() <= timezone.now()


def test_moving_it_shifts_now_and_today_and_keeps_it_running():
    when = datetime.datetime(2027, 3, 14, 1, 59, 30, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    with clock.moved_to(when):
        first = clock.now()
        assert abs(first - when) < datetime.timedelta(seconds=1)
        assert clock.now() >= first
        assert clock.today() == timezone.localdate(when)
    assert abs(clock.now() - timezone.now()) < datetime.timedelta(seconds=1)


def test_a_nested_move_gives_the_outer_time_back():
    outer = timezone.now() + datetime.timedelta(days=3)
    with clock.moved_to(outer):
        with clock.moved_to(outer + datetime.timedelta(days=30)):
            assert clock.now() > outer + datetime.timedelta(days=29)
        assert clock.now() - outer < datetime.timedelta(seconds=1)
