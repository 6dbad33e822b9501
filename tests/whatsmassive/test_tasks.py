import time

import pytest
from django.db import connection

from tests.conftest import start_worker, stop_worker
from whatsmassive.tasks import health_ping


@pytest.mark.django_db(transaction=True)
def test_the_health_task_round_trips_through_a_real_worker(celery_worker):
    result = health_ping.delay().get(timeout=30)
    assert result["pong"] is True
    assert result["database"] is True
    assert celery_worker.poll() is None  # the worker is a separate, live process


@pytest.mark.django_db(transaction=True)
def test_a_workers_database_connection_outlives_its_task_for_the_next(django_db_blocker):
    def backends() -> set[tuple[int, object]]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, backend_start FROM pg_stat_activity WHERE application_name = %s",
                ["connection-reuse"],
            )
            return set(cursor.fetchall())

    with django_db_blocker.unblock():
        worker = start_worker(
            "reuse", queues="reuse", DB_CONN_MAX_AGE="60", PGAPPNAME="connection-reuse"
        )
    try:
        health_ping.apply_async(queue="reuse").get(timeout=60)
        time.sleep(1)
        first = backends()
        assert first  # still connected after its task
        health_ping.apply_async(queue="reuse").get(timeout=60)
        time.sleep(1)
        assert first <= backends()
    finally:
        stop_worker(worker)
