"""The operator console served by daphne, a real Celery worker and headless Chromium.

The server and the worker use the test database, so tests here are `transaction=True`:
they only see (and show) committed rows.
"""

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from sessions_app.drivers.whatsapp_web import CHROMIUM_FLAGS
from tests.conftest import BASE_DIR, current_database_url, wait_until

# The driver's own flags, in a window wide enough for the pages' two-column layouts.
BROWSER_FLAGS = [*CHROMIUM_FLAGS, "--window-size=1400,1000"]
SCREENSHOTS_DIR = Path(os.environ.get("E2E_SCREENSHOTS_DIR", BASE_DIR / "var" / "screenshots"))


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def live_url(django_db_setup, django_db_blocker, celery_worker, tmp_path_factory) -> Iterator[str]:
    """daphne serving HTTP and WebSockets, and beat sweeping, on the test database: with the
    run's worker, the processes `make run` starts. Per module: beat's sweeps and supervisor
    must not outlive these tests into others that drive the sweep themselves."""
    port = _free_port()
    with django_db_blocker.unblock():
        env = {
            **os.environ,
            "DATABASE_URL": current_database_url(),
            "DB_CONN_MAX_AGE": "0",
            "ENGINE_SWEEP_SECONDS": "1",
        }
    schedule = tmp_path_factory.mktemp("beat") / "schedule"
    python = [sys.executable, "-m"]
    daphne = ["daphne", "-b", "127.0.0.1", "-p", str(port), "whatsmassive.asgi:application"]
    beat = ["celery", "-A", "whatsmassive", "beat", "--schedule", str(schedule)]
    processes = [
        subprocess.Popen([*python, *daphne], cwd=BASE_DIR, env=env, stdout=subprocess.DEVNULL),
        subprocess.Popen([*python, *beat, "--loglevel", "WARNING"], cwd=BASE_DIR, env=env),
    ]
    try:
        wait_until(lambda: _accepts(port), timeout=30, message="daphne did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=10)


@pytest.fixture(autouse=True)
def _background_transactions_end_before_the_flush(transactional_db) -> Iterator[None]:
    """After each test the database is flushed, one TRUNCATE of every table, while beat's
    sweeps and the worker keep querying: a transaction of theirs holding one table and
    waiting for another deadlocks with it, and the rows stay for the next test. Their
    connections (one per task or request) are ended first; the next query opens another."""
    yield
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@pytest.fixture
def new_browser() -> Iterator[Callable[[], WebDriver]]:
    """Open headless Chromium windows; each is closed after the test."""
    opened: list[WebDriver] = []

    def open_browser() -> WebDriver:
        options = webdriver.ChromeOptions()
        options.binary_location = settings.CHROME_BINARY
        for flag in BROWSER_FLAGS:
            options.add_argument(flag)
        # The console, for tests that read it (CSP violations are reported there).
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        browser = webdriver.Chrome(
            options=options, service=Service(executable_path=settings.CHROMEDRIVER_PATH)
        )
        browser.implicitly_wait(0)
        opened.append(browser)
        return browser

    yield open_browser
    for browser in opened:
        browser.quit()


@pytest.fixture
def screenshot() -> Callable[[WebDriver, str], Path]:
    """Save what the operator sees as var/screenshots/<name>.png (E2E_SCREENSHOTS_DIR)."""

    def save(browser: WebDriver, name: str) -> Path:
        SCREENSHOTS_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS_DIR / f"{name}.png"
        browser.save_screenshot(str(path))
        return path

    return save
