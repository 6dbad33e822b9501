from celery import shared_task

from campaigns.sweep import engine_sweep


@shared_task(ignore_result=True)
def sweep() -> None:
    engine_sweep()
