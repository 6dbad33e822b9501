import pytest

from whatsmassive.tasks import health_ping


@pytest.mark.django_db(transaction=True)
def test_the_health_task_round_trips_through_a_real_worker(celery_worker):
    result = health_ping.delay().get(timeout=30)
    assert result["pong"] is True
    assert result["database"] is True
    assert celery_worker.poll() is None  # the worker is a separate, live process
