import datetime

from celery import shared_task
from django.conf import settings

from webhooks.delivery import webhooks_deliver_pending, webhooks_prune


@shared_task(ignore_result=True)
def webhooks_deliver() -> None:
    """Queued after commits that wrote events, and by beat for retries and stragglers."""
    if webhooks_deliver_pending():
        webhooks_deliver.delay()


@shared_task(ignore_result=True)
def webhooks_forget_delivered() -> None:
    """Beat, hourly: the outbox keeps what was delivered for WEBHOOK_KEEP_DAYS."""
    webhooks_prune(keep=datetime.timedelta(days=settings.WEBHOOK_KEEP_DAYS))
