import logging
import os

from celery import Celery
from celery.worker.consumer import Consumer

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whatsmassive.settings")

logger = logging.getLogger(__name__)

app = Celery("whatsmassive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.steps["worker"].add("sessions_app.tasks:StopSessionHosts")


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
