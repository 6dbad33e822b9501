"""One Chromium on one account's profile: launch, scripts, CDP injection, and ending it.

Selenium is imported only inside this package; callers of the driver never see its types.
"""

import functools
import logging
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, Literal, TypeVar

import psutil
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.options import Options as ChromeOptions
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.support.ui import WebDriverWait

logger = logging.getLogger(__name__)

JS_DIR = Path(__file__).with_name("js")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # navigator.webdriver stays false, as in the browser a person uses.
    "--disable-blink-features=AutomationControlled",
    # One page per account: one renderer, and the (software) GPU work in the browser
    # process rather than a process of its own: about 20 MB less per account.
    "--renderer-process-limit=1",
    "--in-process-gpu",
    "--disable-extensions",
)
POLL_SECONDS = 0.1

T = TypeVar("T")


@functools.cache
def script(name: str) -> str:
    """A JavaScript file of `js/`, read once."""
    return (JS_DIR / name).read_text(encoding="utf-8")


@functools.cache
def desktop_user_agent(chrome_binary: str) -> str:
    """A normal desktop Chrome user agent for the installed Chromium's major version.

    Headless Chromium announces itself as "HeadlessChrome", and WhatsApp Web then only
    shows "Update Google Chrome".
    """
    try:
        output = subprocess.run(  # noqa: S603 - the configured browser binary, no shell
            [chrome_binary, "--version"], capture_output=True, text=True, timeout=30, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ImproperlyConfigured(f"CHROME_BINARY {chrome_binary} cannot run: {exc}") from exc
    match = re.search(r"\b(\d+)\.\d+\.\d+\.\d+\b", output)
    if match is None:
        raise ImproperlyConfigured(
            f"CHROME_BINARY {chrome_binary} did not report a version: {output!r}"
        )
    # Chrome's reduced user agent: only the major version is real, the rest is zeros.
    return (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        f"Chrome/{match.group(1)}.0.0.0 Safari/537.36"
    )


def _uses_profile(process: psutil.Process, profile_dir: Path) -> bool:
    for argument in process.cmdline():
        if argument.startswith("--user-data-dir="):
            value = argument.removeprefix("--user-data-dir=")
            return Path(value).resolve() == profile_dir.resolve()
    return False


def _wait_ended(process: psutil.Process, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            # A zombie has ended; only its parent can reap it.
            if process.status() == psutil.STATUS_ZOMBIE:
                return True
        except psutil.NoSuchProcess:
            return True
        time.sleep(POLL_SECONDS)
    return False


def _end_process(process: psutil.Process) -> None:
    with suppress(psutil.NoSuchProcess):
        process.terminate()
        if not _wait_ended(process, timeout=10):
            process.kill()
            _wait_ended(process, timeout=10)


def end_stale_browser(profile_dir: Path) -> int | None:
    """End a Chromium left running on `profile_dir`, found by the pid in its SingletonLock.

    Chromium refuses a profile another live Chromium holds. The lock names `host-pid`;
    that pid is ended only when it is alive on this host and its command line holds this
    very profile, so a recycled pid never costs an unrelated process.
    """
    lock = profile_dir / "SingletonLock"
    if not lock.is_symlink():
        return None
    host, _, pid_text = os.readlink(lock).rpartition("-")
    if host != socket.gethostname() or not pid_text.isdigit():
        return None
    try:
        process = psutil.Process(int(pid_text))
        if process.status() == psutil.STATUS_ZOMBIE or not _uses_profile(process, profile_dir):
            return None
    except psutil.Error:
        return None
    logger.warning(
        "Ending stale Chromium pid %s holding %s",
        process.pid,
        profile_dir,
        extra={"pid": process.pid},
    )
    _end_process(process)
    return process.pid


class Browser:
    """The Chromium process, its WebDriver session and the page it shows."""

    def __init__(self, profile_dir: Path) -> None:
        self.profile_dir = profile_dir
        self.pid: int | None = None
        self.navigated_at = 0.0
        self._driver: webdriver.Chrome | None = None

    def launch(self) -> None:
        self.profile_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        end_stale_browser(self.profile_dir)
        options = ChromeOptions()
        options.binary_location = settings.CHROME_BINARY
        for flag in CHROMIUM_FLAGS:
            if flag.startswith("--headless") and not settings.WHATSAPP_HEADLESS:
                continue
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={self.profile_dir}")
        options.add_argument(f"--user-agent={desktop_user_agent(settings.CHROME_BINARY)}")
        # WhatsApp Web lays out its two panes only on a desktop-sized window.
        options.add_argument("--window-size=1366,900")
        options.add_experimental_option("excludeSwitches", ["enable-automation"])
        # An explicit chromedriver path: Selenium Manager never runs, nothing is downloaded.
        service = ChromeService(executable_path=settings.CHROMEDRIVER_PATH)
        try:
            self._driver = webdriver.Chrome(options=options, service=service)
        except WebDriverException as exc:
            self.close()
            raise RuntimeError(f"Chromium did not start: {exc.msg}") from exc
        self.pid = self._find_browser_pid(service)

    def _find_browser_pid(self, service: ChromeService) -> int | None:
        if service.process is None:
            return None
        with suppress(psutil.Error):
            for child in psutil.Process(service.process.pid).children(recursive=True):
                with suppress(psutil.Error):
                    if _uses_profile(child, self.profile_dir) and "--type=" not in " ".join(
                        child.cmdline()
                    ):
                        return child.pid
        return None

    def close(self) -> None:
        driver, self._driver = self._driver, None
        if driver is not None:
            with suppress(WebDriverException):
                driver.quit()
        if self.pid is not None:
            with suppress(psutil.NoSuchProcess):
                browser = psutil.Process(self.pid)
                if _uses_profile(browser, self.profile_dir):
                    _end_process(browser)
            self.pid = None

    @property
    def running(self) -> bool:
        return self._driver is not None

    @property
    def driver(self) -> webdriver.Chrome:
        if self._driver is None:
            raise RuntimeError("the browser is not running: call start() first")
        return self._driver

    def inject(self, source: str) -> None:
        """Run `source` in every document before the page's own scripts.

        DevTools-injected scripts are not subject to the page's CSP, which refuses inline
        scripts on WhatsApp Web.
        """
        self.driver.execute_cdp_cmd("Page.addScriptToEvaluateOnNewDocument", {"source": source})

    def navigate(self, url: str) -> None:
        self.navigated_at = time.monotonic()
        self.driver.get(url)

    def run(self, name: str, *args: Any) -> Any:
        """Run the function body in `js/<name>` with `args` (synchronous scripts)."""
        return self.driver.execute_script(script(name), *args)

    def run_async(self, name: str, *args: Any) -> Any:
        """Run `js/<name>`, whose last argument is the callback that returns its result."""
        return self.driver.execute_async_script(script(name), *args)

    def wait(self, condition: Callable[[], T | None], timeout: float) -> T:
        """Wait until `condition` returns something other than None or False; return it."""

        def met(_driver: webdriver.Chrome) -> T | Literal[False]:
            value = condition()
            return False if value is None else value

        return WebDriverWait(self.driver, timeout, poll_frequency=POLL_SECONDS).until(met)
