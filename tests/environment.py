"""Points the test run at real PostgreSQL and Redis before Django reads its settings.

Loaded as a pytest plugin (`-p tests.environment` in pyproject.toml) so it runs before
pytest-django imports the settings. Each run gets its own Redis database number, claimed
with SET NX, so parallel runs (and their Celery workers) never consume each other's tasks;
pytest-django gives each run its own PostgreSQL database (see conftest.py).
"""

import atexit
import os
import shutil
import tempfile
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/whatsmassive"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
REDIS_DATABASES = range(1, 16)
CLAIM_SECONDS = 6 * 3600


def _with_path(url: str, path: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=path))


def _check_postgres(url: str) -> None:
    maintenance = _with_path(url, "/postgres")
    try:
        psycopg.connect(maintenance, connect_timeout=3).close()
    except psycopg.OperationalError as exc:
        where = urlsplit(url).netloc.rsplit("@", 1)[-1]
        raise pytest.UsageError(
            f"PostgreSQL is not reachable at {where}: start it (or set TEST_DATABASE_URL). "
            f"[{str(exc).strip().splitlines()[0]}]"
        ) from exc


class ServiceUnavailable(Exception):
    """PostgreSQL or Redis cannot serve this run; the message says what to do."""


def claim_redis_database(url: str) -> str:
    """A Redis database number (1-15) of its own for this process, emptied, released at exit.

    Test runs and benchmarks claim through the same keys, so neither flushes the other's.
    """
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError as exc:
        where = urlsplit(url).netloc.rsplit("@", 1)[-1]
        raise ServiceUnavailable(
            f"Redis is not reachable at {where}: start it (or set REDIS_URL). [{exc}]"
        ) from exc
    token = f"{os.uname().nodename}:{os.getpid()}"
    for number in REDIS_DATABASES:
        key = f"whatsmassive:test-run:db{number}"
        if client.set(key, token, nx=True, ex=CLAIM_SECONDS):
            claimed = _with_path(url, f"/{number}")
            redis.Redis.from_url(claimed).flushdb()  # leftovers of a run that was killed
            atexit.register(_release, client, key, token)
            return claimed
    raise ServiceUnavailable(
        f"Every Redis database 1-15 at {url} is claimed by another test run; "
        "wait for them or delete the keys whatsmassive:test-run:*."
    )


def _release(client: redis.Redis, key: str, token: str) -> None:
    if client.get(key) == token.encode():
        client.delete(key)


@pytest.hookimpl(tryfirst=True)
def pytest_load_initial_conftests() -> None:
    database_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_DATABASE_URL)
    _check_postgres(database_url)
    os.environ["DATABASE_URL"] = database_url
    try:
        os.environ["REDIS_URL"] = claim_redis_database(
            os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)
        )
    except ServiceUnavailable as exc:
        raise pytest.UsageError(str(exc)) from exc
    os.environ.setdefault("WHATSAPP_DRIVER", "sandbox")
    os.environ["DEBUG"] = "1"
    # Profiles and the sandbox network's send log are shared with the run's Celery workers.
    state = tempfile.mkdtemp(prefix="whatsmassive-test-")
    atexit.register(shutil.rmtree, state, ignore_errors=True)
    os.environ["WHATSAPP_PROFILES_DIR"] = os.path.join(state, "profiles")
    os.environ["WHATSAPP_SANDBOX_DIR"] = os.path.join(state, "sandbox")
    os.environ["WHATSAPP_SANDBOX_LATENCY"] = "0"
    # Session hosts notice stops and the supervisor notices dead hosts within seconds.
    os.environ.setdefault("HOST_HEARTBEAT_SECONDS", "0.5")
    os.environ.setdefault("HOST_STALE_SECONDS", "3")
    os.environ.setdefault("HOST_POLL_SECONDS", "0.5")
    os.environ.setdefault("ENGINE_CLAIM_LEASE_SECONDS", "5")
    # Test receivers listen on 127.0.0.1, and each test's endpoints take events at once.
    os.environ["WEBHOOK_ALLOW_PRIVATE"] = "1"
    os.environ.setdefault("WEBHOOK_SUBSCRIPTIONS_CACHE_SECONDS", "0")
