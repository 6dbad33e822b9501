import logging
import os
from typing import Any

from celery import Celery
from celery.signals import task_postrun, task_prerun
from celery.worker.consumer import Consumer
from django.db import close_old_connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatsmassive.settings")

logger = logging.getLogger(__name__)

app = Celery("whatsmassive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add("sessions_app.tasks:StopSessionHosts")


@task_prerun.connect
@task_postrun.connect
def _close_old_connections(**kwargs: Any) -> None:
    """Around each task, as around a request: Django closes a thread's database connection
    once it is older than CONN_MAX_AGE or broken, and keeps it otherwise.

    Celery's Django fixup closed it before and after every task (CELERY_DB_REUSE_MAX turns
    that down): each live-progress push and webhook delivery run started a database
    backend and planned its prepared statements again.
    """
    close_old_connections()


class BrokerLossTolerantConsumer(Consumer):
    """The worker's consumer, surviving a Redis restart while it holds unacknowledged tasks.

    Celery 5.7.0 closes a lost broker connection a second time after `collect()` detached
    its transport. If the worker held unacknowledged messages (a trailing progress push
    waiting for its countdown, any late-acked task), kombu tries to put them back through
    the detached transport and raises AttributeError, which Celery treats as unrecoverable:
    the worker never consumes again while its session hosts keep running in it. Those
    messages cannot be put back while Redis is down anyway; the reconnect is what matters.
    The steps skipped with the error are optional (cancelling late-acked tasks, off here)
    or moot with `worker_disable_prefetch` (lowering the prefetch count for the reconnect).
    """

    def on_connection_error_after_connected(self, exc: Exception) -> None:
        try:
            super().on_connection_error_after_connected(exc)
        except AttributeError:
            if self.connection is not None:  # not the second close of the lost connection
                raise
            logger.warning("Broker connection lost with unacknowledged tasks; reconnecting")
