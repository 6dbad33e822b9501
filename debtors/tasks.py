from celery import shared_task

from debtors.services import debtor_import_run


@shared_task
def debtor_import_run_task(debtor_import_id: int) -> None:
    debtor_import_run(debtor_import_id=debtor_import_id)
