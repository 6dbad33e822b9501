import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from importlib import import_module
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import channel_layers
from django.apps import apps as django_apps
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connection
from django.utils import translation

from campaigns.models import ContactPolicy, always_open_windows
from tests.factories import UserFactory
from whatsmassive import roles

BASE_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """Each test run creates its own PostgreSQL database, so parallel runs never collide."""
    test_settings = settings.DATABASES["default"].setdefault("TEST", {})
    test_settings["NAME"] = f"test_{settings.DATABASES['default']['NAME']}_{os.getpid()}"


ALWAYS_OPEN = "Always open (tests)"


@pytest.fixture(autouse=True)
def language_of_the_settings() -> Iterator[None]:
    """Each test starts in LANGUAGE_CODE: LocaleMiddleware activates a request's language in
    the test's own thread and leaves it there, for the next test to inherit."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def contact_policy_always_open(request: pytest.FixtureRequest) -> None:
    """Tests send at any hour of any day: the default contact policy is open all the time,
    without caps. Tests of windows and caps give their campaigns a policy of their own."""
    uses_database = request.node.get_closest_marker("django_db") is not None or bool(
        {"db", "transactional_db", "django_db_setup"} & set(request.fixturenames)
    )
    if not uses_database:
        return
    request.getfixturevalue("_django_db_helper")
    ContactPolicy.objects.filter(is_default=True).exclude(name=ALWAYS_OPEN).update(is_default=False)
    ContactPolicy.objects.update_or_create(
        name=ALWAYS_OPEN, defaults={"windows": always_open_windows(), "is_default": True}
    )


@pytest.fixture
def staff_user(db):
    return UserFactory(is_staff=True, is_superuser=True)


# The migrations that make the roles, then those that grant them more, in order.
ROLE_MIGRATIONS = (
    ("whatsmassive.migrations.0002_roles", "create_roles"),
    ("whatsmassive.migrations.0004_supervisor_integrations", "grant"),
    ("debtors.migrations.0008_disposition_permissions", "grant"),
    ("whatsmassive.migrations.0007_roles_registry_and_audit", "grant"),
    ("whatsmassive.migrations.0008_roles_contact_policies", "grant"),
    ("inbox.migrations.0003_roles_permissions", "grant"),
)


def role_user(role: str | None) -> User:
    """A user holding one role (a group of the roles migration), or none at all."""
    user = UserFactory.create()
    if role is not None:
        if not Group.objects.filter(name=role).exists():
            # A transactional test before this one flushed the tables the migrations filled.
            for module, function in ROLE_MIGRATIONS:
                getattr(import_module(module), function)(django_apps, None)
        user.groups.add(Group.objects.get(name=role))
    return user


@pytest.fixture
def stop_words(db):
    """The default STOP words, as the data migration seeds them (a transactional test
    before this one may have flushed them)."""
    from debtors.models import StopWord

    if not StopWord.objects.exists():
        import_module("debtors.migrations.0011_stop_words_defaults").create_defaults(
            django_apps, None
        )


@pytest.fixture
def viewer(db):
    return role_user(roles.VIEWER)


@pytest.fixture
def operator(db):
    return role_user(roles.OPERATOR)


@pytest.fixture
def supervisor(db):
    return role_user(roles.SUPERVISOR)


def current_database_url() -> str:
    """This run's test database, for the processes (workers, servers) the tests start."""
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path=f"/{connection.settings_dict['NAME']}"))


def worker_node_name(name: str) -> str:
    """The Celery node name of the worker `start_worker(name)` starts (for remote control)."""
    return f"{name}-{os.getpid()}@{socket.gethostname()}"


def start_worker(
    name: str, *, queues: str = "default,browser", **env: str
) -> subprocess.Popen[bytes]:
    """A real Celery worker process (both queues, threads pool) on the test database.

    Call it with the database blocker lifted; tests using it must be `transaction=True`:
    the worker only sees committed rows.
    """
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "whatsmassive",
            "worker",
            "-Q",
            queues,
            "-P",
            "threads",
            "-c",
            "12",
            "-n",
            worker_node_name(name),
            "--without-gossip",
            "--without-mingle",
            "--loglevel",
            "WARNING",
        ],
        cwd=BASE_DIR,
        env={**os.environ, "DATABASE_URL": current_database_url(), "DB_CONN_MAX_AGE": "0", **env},
    )


def stop_worker(worker: subprocess.Popen[bytes]) -> None:
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker) -> Iterator[subprocess.Popen[bytes]]:
    """The run's shared worker, started once and ready when the fixture returns."""
    from whatsmassive.tasks import health_ping

    with django_db_blocker.unblock():
        worker = start_worker("test")
    try:
        health_ping.delay().get(timeout=60)
        yield worker
    finally:
        stop_worker(worker)


def wait_until(predicate, *, timeout: float = 30, interval: float = 0.1, message: str = ""):
    """Poll `predicate` until it returns something truthy; fail with `message` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(message or f"condition not met within {timeout} s")
        time.sleep(interval)


@pytest.fixture
def send_log():
    """The sandbox network's send log, emptied for this test: read it with `send_log()`."""
    from sessions_app.drivers.sandbox import read_send_log, send_log_path

    send_log_path().unlink(missing_ok=True)
    return read_send_log


@pytest.fixture
def connected_account(db):
    """Make accounts linked on the sandbox network, with their started drivers."""
    from sessions_app.drivers import profile_dir_for
    from sessions_app.drivers.sandbox import SandboxDriver, simulate_scan
    from sessions_app.models import SessionStatus
    from tests.factories import WhatsAppSessionFactory

    def make(**fields):
        session = WhatsAppSessionFactory(status=SessionStatus.CONNECTED, **fields)
        session.profile_dir = str(profile_dir_for(session_id=session.pk))
        session.save(update_fields=["profile_dir"])
        driver = SandboxDriver(profile_dir=session.profile_dir_path)
        driver.start()
        simulate_scan(session.profile_dir_path)
        assert driver.state() == "connected"
        return session, driver

    return make


def listen_group(group: str) -> tuple[Any, str]:
    """A channel of the real channel layer (Redis) joined to `group`.

    Each listener gets its own layer instance: channels_redis keeps receive locks per
    instance, released by a task that may not finish before async_to_sync closes its event
    loop, and a lock left behind by one test would then be bound to a loop that is gone.
    """
    layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
    channel = async_to_sync(layer.new_channel)()
    async_to_sync(layer.group_add)(group, channel)
    return layer, channel


def receive_event(layer: Any, channel: str, timeout: float = 5) -> dict[str, Any]:
    async def receive() -> dict[str, Any]:
        return await asyncio.wait_for(layer.receive(channel), timeout)

    return async_to_sync(receive)()


@pytest.fixture
def spanish_catalog(tmp_path, settings):
    """Install Spanish translations of the given English texts in place of the project's
    catalogue, so tests of what follows the active language do not hang on the .po files.
    Keys are msgids, or (context, msgid) pairs."""

    def install(messages: dict[str | tuple[str, str], str]) -> None:
        from babel.messages.catalog import Catalog
        from babel.messages.mofile import write_mo

        catalog = Catalog(locale="es")
        for key, text in messages.items():
            context, msgid = key if isinstance(key, tuple) else (None, key)
            catalog.add(msgid, text, context=context)
        folder = tmp_path / "locale" / "es" / "LC_MESSAGES"
        folder.mkdir(parents=True, exist_ok=True)
        with (folder / "django.mo").open("wb") as handle:
            write_mo(handle, catalog)
        # A changed LOCALE_PATHS makes Django drop its loaded catalogues.
        settings.LOCALE_PATHS = [tmp_path / "locale"]

    return install
