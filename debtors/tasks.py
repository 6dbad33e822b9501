import datetime

from celery import shared_task


@shared_task
def debtor_import_prepare_task(debtor_import_id: int) -> None:
    from debtors.imports.services import debtor_import_prepare

    debtor_import_prepare(debtor_import_id=debtor_import_id)


@shared_task
def debtor_import_run_task(debtor_import_id: int, language: str = "en") -> None:
    from debtors.imports.services import debtor_import_run

    debtor_import_run(debtor_import_id=debtor_import_id, language=language)


@shared_task
def debtor_import_delete_stale_task() -> None:
    from debtors.imports.services import debtor_import_delete_stale

    debtor_import_delete_stale(older_than=datetime.timedelta(days=1))


@shared_task
def dispositions_mark_broken_task() -> None:
    from debtors.services import dispositions_mark_broken

    dispositions_mark_broken()
