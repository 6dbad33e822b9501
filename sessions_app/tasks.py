from typing import Any

from celery import bootsteps, shared_task

from sessions_app.host import session_host_run, shutting_down
from sessions_app.services import sessions_refresh_health, sessions_supervise


class StopSessionHosts(bootsteps.StartStopStep):
    """Tells the worker's session hosts to stop before its pool waits for its tasks.

    Hosts run until told to stop, so a pool that waited first would wait for ever. A warm
    shutdown closes the worker's steps first, however it was asked for (SIGTERM,
    `celery control shutdown`, an unrecoverable error); the worker_shutting_down signal
    only comes with a signal. A cold shutdown (SIGQUIT) stops the pool before any step.
    """

    requires = ("celery.worker.components:Pool",)

    def close(self, parent: Any) -> None:
        shutting_down.set()


# A host runs for as long as its account is connected: no time limit, and acknowledged on
# receipt — a lost host is restarted by the supervisor, never by redelivery.
@shared_task(acks_late=False, ignore_result=True)
def session_host(session_id: int) -> None:
    session_host_run(session_id=session_id)


@shared_task(ignore_result=True)
def supervise_sessions() -> None:
    sessions_supervise()


@shared_task(ignore_result=True)
def refresh_account_health() -> None:
    sessions_refresh_health()
