import logging

import pytest
from django.db import transaction

from whatsmassive.logging import SystemLogHandler
from whatsmassive.models import LogLevel, SystemLog

pytestmark = pytest.mark.django_db


def test_application_logs_become_system_log_rows():
    logging.getLogger("campaigns.engine").warning(
        "Account %s hit its hourly cap", "Sandbox 1", extra={"session_id": 7}
    )
    log = SystemLog.objects.get()
    assert log.level == LogLevel.WARNING
    assert log.source == "campaigns.engine"
    assert log.message == "Account Sandbox 1 hit its hourly cap"
    assert log.context == {"session_id": 7}


def test_records_below_the_configured_level_are_not_stored(settings):
    logging.getLogger("campaigns.engine").debug("noisy detail")
    assert not SystemLog.objects.exists()


def test_exceptions_keep_their_traceback():
    try:
        raise ValueError("bad row")
    except ValueError:
        logging.getLogger("debtors.imports").exception("Import failed")
    log = SystemLog.objects.get()
    assert log.level == LogLevel.ERROR
    assert "ValueError: bad row" in log.context["traceback"]


def test_a_failing_insert_does_not_break_the_callers_transaction(monkeypatch):
    handler = SystemLogHandler()
    monkeypatch.setattr(logging, "raiseExceptions", False)
    record = logging.makeLogRecord({"name": "x" * 500, "levelno": logging.ERROR, "msg": "m"})
    record.unserialisable = object()
    with transaction.atomic():
        monkeypatch.setattr(SystemLog.objects, "create", _raise_database_error)
        handler.emit(record)
        monkeypatch.undo()
        SystemLog.objects.create(level=LogLevel.INFO, source="tests", message="still fine")
    assert SystemLog.objects.get().message == "still fine"


def _raise_database_error(**kwargs):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM table_that_does_not_exist")


def test_custom_levels_are_stored_as_the_standard_level_below():
    record = logging.makeLogRecord({"name": "tests", "levelno": 25, "msg": "notice"})
    SystemLogHandler().emit(record)
    assert SystemLog.objects.get().level == LogLevel.INFO
