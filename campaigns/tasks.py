from celery import shared_task

from campaigns import realtime
from campaigns.sweep import engine_sweep


@shared_task(ignore_result=True)
def campaign_progress_push(campaign_id: int) -> None:
    """The trailing push of a coalescing window (see campaigns.realtime)."""
    realtime.campaign_progress_trailing_push(campaign_id)


@shared_task(ignore_result=True)
def sweep() -> None:
    engine_sweep()
