from celery import shared_task

from webhooks.delivery import webhooks_deliver_pending


@shared_task(ignore_result=True)
def webhooks_deliver() -> None:
    """Queued after commits that wrote events, and by beat for retries and stragglers."""
    if webhooks_deliver_pending():
        webhooks_deliver.delay()
