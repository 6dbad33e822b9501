"""The WhatsApp Web replica and Selenium drivers on it, for the driver and CLI tests."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from sessions_app.drivers.base import DriverState
from sessions_app.drivers.whatsapp_web import SeleniumDriver
from tests.conftest import wait_until
from tests.sessions_app.replica import Replica, ReplicaConfig

# The wa-js stand-in: the calls of the real bundle, on top of the replica.
WAJS_STANDIN = Path(__file__).resolve().parent / "replica" / "wajs_standin.js"

# Short timings keep the suite fast; the driver never depends on them being short.
REPLICA_TIMINGS = {
    "boot_seconds": 0.2,
    "sent_after": 0.05,
    "delivered_after": 0.2,
    "read_after": 0.4,
}


def wajs_settings(replica: Replica, **extra: object) -> override_settings:
    """Settings of the wa-js strategy on the replica, with the stand-in for the bundle."""
    defaults: dict[str, object] = {
        "WHATSAPP_STRATEGY": "wajs",
        "WHATSAPP_WAJS_FILE": str(WAJS_STANDIN),
        "WHATSAPP_WAJS_READY_TIMEOUT": 15,
    }
    return selenium_settings(replica, **(defaults | extra))


def selenium_settings(replica: Replica, **extra: object) -> override_settings:
    defaults: dict[str, object] = {
        "WHATSAPP_DRIVER": "selenium",
        "WHATSAPP_WEB_URL": replica.url,
        "WHATSAPP_SELECTORS_FILE": "",
        "WHATSAPP_HEADLESS": True,
        "WHATSAPP_PAGE_TIMEOUT": 15,
        "WHATSAPP_SEND_TIMEOUT": 10,
        "WHATSAPP_STRATEGY": "dom",
        "WHATSAPP_WAJS_FILE": "",
    }
    return override_settings(**(defaults | extra))


def link(driver: SeleniumDriver, replica: Replica, *, phone: str | None = None) -> None:
    """Scan the QR the driver shows, as the phone would, and wait until it is connected."""
    payload = wait_until(driver.qr_payload, message="no QR on the login screen")
    assert replica.scan(payload, phone=phone)
    wait_until(lambda: driver.state() == DriverState.CONNECTED, message="not connected")


@pytest.fixture(scope="module")
def replica() -> Iterator[Replica]:
    with Replica(**REPLICA_TIMINGS) as running:
        yield running


@pytest.fixture
def replica_config(replica: Replica) -> Iterator[ReplicaConfig]:
    """Lets a test change the replica's timings; they are restored afterwards."""
    saved = vars(replica.config).copy()
    yield replica.config
    replica.configure(**saved)


def _linked(
    replica: Replica, strategy_settings: override_settings, profile_dir: Path
) -> Iterator[SeleniumDriver]:
    with strategy_settings:
        driver = SeleniumDriver(profile_dir=profile_dir)
        driver.start()
        try:
            link(driver, replica)
            yield driver
        finally:
            driver.close()


@pytest.fixture(scope="module")
def linked_driver(
    replica: Replica, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeleniumDriver]:
    """One linked browser shared by a module's tests, as a session host would hold it."""
    yield from _linked(
        replica, selenium_settings(replica), tmp_path_factory.mktemp("linked-profile")
    )


@pytest.fixture(scope="module")
def linked_wajs_driver(
    replica: Replica, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[SeleniumDriver]:
    """One linked browser on the wa-js strategy, shared by a module's tests."""
    yield from _linked(replica, wajs_settings(replica), tmp_path_factory.mktemp("wajs-profile"))


@pytest.fixture
def start_driver(replica: Replica, tmp_path: Path) -> Iterator[Callable[..., SeleniumDriver]]:
    """Start drivers on fresh (or given) profiles; every one is closed after the test.

    `wajs=True` starts them on the wa-js strategy with the stand-in bundle.
    """
    started: list[SeleniumDriver] = []

    def start(
        profile_dir: Path | None = None, *, wajs: bool = False, **settings: object
    ) -> SeleniumDriver:
        with (wajs_settings if wajs else selenium_settings)(replica, **settings):
            driver = SeleniumDriver(profile_dir=profile_dir or tmp_path / f"profile-{len(started)}")
            started.append(driver)
            driver.start()
        return driver

    yield start
    for driver in started:
        driver.close()
