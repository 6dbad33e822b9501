"""Live counters of a running import, shared through Redis.

The import writes every row in one transaction, so its counters in the database only
change at the end. The worker publishes them here every few thousand rows instead; a
second database connection would do on PostgreSQL, but SQLite (the demo) has one writer at
a time and the import's transaction holds it, so a second writer would wait for the whole
import. Counters are a hint: without Redis the import goes on, the page shows no numbers
until it ends.
"""

import json
import logging
from dataclasses import asdict

import redis
from django.conf import settings

from debtors.imports.engine import ImportCounts

logger = logging.getLogger(__name__)
# Longer than any import may run (CELERY_TASK_TIME_LIMIT), so a live key never expires early.
TTL_SECONDS = 6 * 3600


def _client() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)


def _key(debtor_import_id: int) -> str:
    return f"debtor-import-progress:{debtor_import_id}"


def progress_publish(*, debtor_import_id: int, counts: ImportCounts) -> None:
    try:
        _client().set(_key(debtor_import_id), json.dumps(asdict(counts)), ex=TTL_SECONDS)
    except redis.RedisError:
        logger.warning("Import progress not published: Redis is unreachable", exc_info=True)


def progress_read(*, debtor_import_id: int) -> ImportCounts | None:
    try:
        raw = _client().get(_key(debtor_import_id))
    except redis.RedisError:
        return None
    if not isinstance(raw, bytes):
        return None
    return ImportCounts(**json.loads(raw))


def progress_clear(*, debtor_import_id: int) -> None:
    try:
        _client().delete(_key(debtor_import_id))
    except redis.RedisError:
        logger.warning("Import progress not cleared: Redis is unreachable", exc_info=True)
