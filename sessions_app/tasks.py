from typing import Any

from celery import shared_task
from celery.signals import worker_shutting_down

from sessions_app.host import session_host_run, shutting_down
from sessions_app.services import sessions_supervise


@worker_shutting_down.connect
def _stop_hosts(**kwargs: Any) -> None:
    shutting_down.set()


# A host runs for as long as its account is connected: no time limit, and acknowledged on
# receipt — a lost host is restarted by the supervisor, never by redelivery.
@shared_task(acks_late=False, ignore_result=True)
def session_host(session_id: int) -> None:
    session_host_run(session_id=session_id)


@shared_task(ignore_result=True)
def supervise_sessions() -> None:
    sessions_supervise()
