import socket

from celery import shared_task
from django.db import connection

from whatsmassive import realtime
from whatsmassive.user_sessions import sessions_end_expired


@shared_task
def health_ping() -> dict[str, object]:
    """Round trip through the broker, a worker and the database."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        (database_ok,) = cursor.fetchone()
    return {"pong": True, "database": database_ok == 1, "host": socket.gethostname()}


@shared_task(ignore_result=True)
def campaign_progress_push(campaign_id: int) -> None:
    """The trailing push of a coalescing window (see whatsmassive.realtime)."""
    realtime.campaign_progress_trailing_push(campaign_id)


@shared_task(ignore_result=True)
def sessions_end() -> int:
    """Beat: end idle sessions and close their sockets."""
    return sessions_end_expired()
