from celery import shared_task

from api.idempotency import idempotent_requests_forget


@shared_task(ignore_result=True)
def idempotent_requests_prune() -> None:
    """Beat, hourly: answers older than 24 h are never replayed; drop them."""
    idempotent_requests_forget()
