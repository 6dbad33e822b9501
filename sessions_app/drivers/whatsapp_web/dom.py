"""Real WhatsApp Web in Debian's Chromium, driven by Selenium.

This is the only module that imports selenium. Every selector, URL path and text it relies
on comes from `whatsapp_web.json` (merged with the operator's `WHATSAPP_SELECTORS_FILE`),
because WhatsApp Web changes its markup every few months and operators must be able to
follow without a release.
"""

import functools
import json
import logging
import os
import re
import socket
import subprocess
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import psutil
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from selenium import webdriver
from selenium.common.exceptions import (
    InvalidSelectorException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.chrome.options import Options as ChromeOptions
from selenium.webdriver.chrome.service import Service as ChromeService
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from sessions_app.drivers.base import (
    Ack,
    AckStatus,
    DriverState,
    IncomingMessage,
    NotOnWhatsApp,
    SendError,
    SendOutcomeUnknown,
    SendResult,
)

logger = logging.getLogger(__name__)

DEFAULT_SELECTORS_FILE = Path(__file__).with_name("whatsapp_web.json")
CHROMIUM_FLAGS = (
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
# English labels keep the aria-label selectors of the data file valid on any host locale.
BROWSER_LANGUAGE = "en-US"
POLL_SECONDS = 0.1
ACK_RANK = {AckStatus.SENT: 1, AckStatus.DELIVERED: 2, AckStatus.READ: 3}
# poll_acks reopens at most this many other chats per call, so one call stays short.
ACK_CHATS_PER_POLL = 5
# A message whose chat cannot be found again stops being followed after this long.
ACK_FOLLOW_SECONDS = 3 * 24 * 3600

T = TypeVar("T")


@dataclass(frozen=True)
class SelectorCheck:
    """Whether one selector of the data file matches the live page (`matches` < 0: invalid)."""

    name: str
    selector: str
    matches: int

    @property
    def ok(self) -> bool:
        return self.matches > 0


class WebSelectors:
    """The data file's content, with typed access."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def css(self, name: str) -> list[str]:
        return list(self.data["selectors"][name])

    def attribute(self, name: str) -> str:
        return str(self.data["attributes"][name])

    def url(self, name: str) -> str:
        return str(self.data["urls"][name])

    def message_id(self, name: str) -> str:
        return str(self.data["message_id"][name])

    def icons(self, status: str) -> list[str]:
        return list(self.data["status_icons"][status])

    def texts(self, name: str) -> list[str]:
        return list(self.data["texts"][name])

    def read_icon_colors(self) -> list[str]:
        return list(self.data["read_icon_colors"])

    def local_storage(self, name: str) -> list[str]:
        return list(self.data["local_storage"][name])


def load_selectors(override_file: str | Path | None = None) -> WebSelectors:
    """The built-in data file, with `override_file` (if any) merged over it key by key."""
    data: dict[str, Any] = json.loads(DEFAULT_SELECTORS_FILE.read_text(encoding="utf-8"))
    if override_file:
        path = Path(override_file)
        try:
            override = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ImproperlyConfigured(f"WHATSAPP_SELECTORS_FILE {path}: {exc}") from exc
        if not isinstance(override, dict):
            raise ImproperlyConfigured(f"WHATSAPP_SELECTORS_FILE {path}: must be a JSON object")
        data = _merge(data, override, source=path, prefix="")
    return WebSelectors(data)


def _merge(
    defaults: dict[str, Any], override: dict[str, Any], *, source: Path, prefix: str
) -> dict[str, Any]:
    merged = dict(defaults)
    for key, value in override.items():
        where = f"{prefix}{key}"
        if key not in defaults:
            raise ImproperlyConfigured(
                f"WHATSAPP_SELECTORS_FILE {source}: unknown key {where!r} "
                f"(known: {', '.join(sorted(defaults))})"
            )
        default = defaults[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ImproperlyConfigured(
                    f"WHATSAPP_SELECTORS_FILE {source}: {where!r} must be an object"
                )
            merged[key] = _merge(default, value, source=source, prefix=f"{where}.")
        elif isinstance(default, list):
            if (
                not value
                or not isinstance(value, list)
                or not all(isinstance(item, str) and item for item in value)
            ):
                raise ImproperlyConfigured(
                    f"WHATSAPP_SELECTORS_FILE {source}: {where!r} must be a non-empty list "
                    "of strings (fallbacks, in order)"
                )
            merged[key] = value
        else:
            if not isinstance(value, str) or not value:
                raise ImproperlyConfigured(
                    f"WHATSAPP_SELECTORS_FILE {source}: {where!r} must be a non-empty string"
                )
            merged[key] = value
    return merged


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


def _title_is_number(digits: str, title: str) -> bool:
    return re.sub(r"\D", "", title) == digits


def _same_title(wanted: str, title: str) -> bool:
    return title == wanted


def _normalise_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


@dataclass
class _Tracked:
    phone_digits: str
    status: AckStatus
    sent_at: float


class SeleniumDriver:
    """One WhatsApp account in one Chromium, on a persistent profile directory."""

    def __init__(self, profile_dir: Path) -> None:
        self.profile_dir = Path(profile_dir)
        self.selectors = load_selectors(settings.WHATSAPP_SELECTORS_FILE or None)
        self.base_url = settings.WHATSAPP_WEB_URL.rstrip("/")
        self.page_timeout = float(settings.WHATSAPP_PAGE_TIMEOUT)
        self.send_timeout = float(settings.WHATSAPP_SEND_TIMEOUT)
        self.browser_pid: int | None = None
        self._driver: webdriver.Chrome | None = None
        self._was_connected = False
        self._navigated_at = 0.0
        self._tracked: dict[str, _Tracked] = {}
        self._acks_checked: dict[str, float] = {}
        self._seen_incoming: set[str] = set()

    # Lifecycle

    def start(self) -> None:
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
        options.add_argument(f"--lang={BROWSER_LANGUAGE}")
        # WhatsApp Web lays out its two panes only on a desktop-sized window.
        options.add_argument("--window-size=1366,900")
        options.add_experimental_option("prefs", {"intl.accept_languages": BROWSER_LANGUAGE})
        # An explicit chromedriver path: Selenium Manager never runs, nothing is downloaded.
        service = ChromeService(executable_path=settings.CHROMEDRIVER_PATH)
        # Callers never see selenium's exception types: this module is the only one that
        # knows selenium.
        try:
            self._driver = webdriver.Chrome(options=options, service=service)
            self.browser_pid = self._find_browser_pid(service)
            self._navigate(self.base_url + "/")
        except WebDriverException as exc:
            self.close()
            raise RuntimeError(f"Chromium did not start WhatsApp Web: {exc.msg}") from exc
        with suppress(TimeoutException):
            self._wait(lambda: self.state() != DriverState.STARTING, self.page_timeout)

    def close(self) -> None:
        driver, self._driver = self._driver, None
        if driver is not None:
            with suppress(WebDriverException):
                driver.quit()
        if self.browser_pid is not None:
            with suppress(psutil.NoSuchProcess):
                browser = psutil.Process(self.browser_pid)
                if _uses_profile(browser, self.profile_dir):
                    _end_process(browser)
            self.browser_pid = None

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

    # Page helpers

    @property
    def driver(self) -> webdriver.Chrome:
        if self._driver is None:
            raise RuntimeError("the browser is not running: call start() first")
        return self._driver

    def _navigate(self, url: str) -> None:
        self._navigated_at = time.monotonic()
        self.driver.get(url)

    def _wait(self, condition: Callable[[], T | None], timeout: float) -> T:
        """Wait until `condition` returns something other than None or False; return it."""

        def met(_driver: webdriver.Chrome) -> T | Literal[False]:
            value = condition()
            return False if value is None else value

        return WebDriverWait(self.driver, timeout, poll_frequency=POLL_SECONDS).until(met)

    def _find(self, name: str, within: WebElement | None = None) -> WebElement | None:
        found = self._find_all(name, within)
        return found[0] if found else None

    def _find_all(self, name: str, within: WebElement | None = None) -> list[WebElement]:
        scope = within if within is not None else self.driver
        for css in self.selectors.css(name):
            try:
                found = scope.find_elements(By.CSS_SELECTOR, css)
            except InvalidSelectorException:
                logger.warning("Invalid WhatsApp Web selector %s: %r", name, css)
                continue
            if found:
                return list(found)
        return []

    def _present(self, names: list[str]) -> set[str]:
        """The names among `names` whose selectors match the page, in one round trip."""
        script = """
            const groups = arguments[0];
            const present = [];
            for (const [name, selectors] of Object.entries(groups)) {
                const matches = (css) => {
                    try { return document.querySelector(css) !== null; }
                    catch (error) { return false; }
                };
                if (selectors.some(matches)) {
                    present.push(name);
                }
            }
            return present;
        """
        groups = {name: self.selectors.css(name) for name in names}
        return set(self.driver.execute_script(script, groups))

    # State and login

    def state(self) -> DriverState:
        if self._driver is None:
            return DriverState.ERROR
        try:
            url = self._driver.current_url
            ready = self._driver.execute_script("return document.readyState") == "complete"
            present = self._present(["chat_list", "qr_container", "startup"])
        except WebDriverException:
            return DriverState.ERROR
        if "chat_list" in present:
            self._was_connected = True
            return DriverState.CONNECTED
        if self.selectors.url("logged_out_marker") in url:
            return DriverState.LOGGED_OUT
        if "qr_container" in present:
            return DriverState.LOGGED_OUT if self._was_connected else DriverState.WAITING_QR
        if "startup" in present or not ready:
            return DriverState.STARTING
        # The app renders its screens a moment after the document loads.
        if time.monotonic() - self._navigated_at < self.page_timeout:
            return DriverState.STARTING
        return DriverState.ERROR

    def qr_payload(self) -> str | None:
        try:
            container = self._find("qr_container")
            if container is None:
                return None
            reload_button = self._find("qr_reload")
            if reload_button is not None:
                # The QR went idle after several rotations: ask for a fresh one.
                stale = container.get_attribute(self.selectors.attribute("qr_payload"))
                reload_button.click()
                self._wait(lambda: self._find("qr_reload") is None, self.page_timeout)
                self._wait(lambda: self._current_qr() not in (None, "", stale), self.page_timeout)
            return self._current_qr() or None
        except (WebDriverException, TimeoutException):
            return None

    def _current_qr(self) -> str | None:
        container = self._find("qr_container")
        if container is None:
            return None
        return container.get_attribute(self.selectors.attribute("qr_payload"))

    def account_phone(self) -> str | None:
        """The linked account's own number (E.164), as WhatsApp Web stores it, if known."""
        script = """
            for (const key of arguments[0]) {
                const value = window.localStorage.getItem(key);
                if (value) { return value; }
            }
            return null;
        """
        try:
            value = self.driver.execute_script(script, self.selectors.local_storage("own_wid"))
        except WebDriverException:
            return None
        match = re.match(r'"?(\d{6,15})[:@]', value or "")
        return f"+{match.group(1)}" if match else None

    def logout(self) -> None:
        if self.state() != DriverState.CONNECTED:
            return
        for step in ("menu_button", "logout_item", "logout_confirm"):
            element = self._wait(functools.partial(self._find, step), self.page_timeout)
            element.click()
        self._wait(
            lambda: (
                "qr_container" in self._present(["qr_container"])
                or self.selectors.url("logged_out_marker") in self.driver.current_url
            ),
            self.page_timeout,
        )

    # Sending

    def send_text(self, *, phone_e164: str, text: str) -> SendResult:
        digits = phone_e164.removeprefix("+")
        if not digits.isdigit():
            raise SendError(f"{phone_e164} is not an E.164 number", permanent=True)
        if not _normalise_text(text):
            raise SendError("WhatsApp does not send an empty message", permanent=True)
        if (current := self.state()) != DriverState.CONNECTED:
            raise SendError(f"not connected ({current})", permanent=False)
        try:
            return self._send(digits=digits, phone_e164=phone_e164, text=text)
        except TimeoutException as exc:
            raise SendError(
                "timed out opening the chat, before the message left the compose box",
                permanent=False,
            ) from exc
        except WebDriverException as exc:
            raise SendError(f"browser error before sending: {exc.msg}", permanent=False) from exc

    def _send(self, *, digits: str, phone_e164: str, text: str) -> SendResult:
        self._navigate(self.base_url + self.selectors.url("send_path").format(phone=digits))
        opened = self._wait(
            lambda: self._present(["compose_box", "invalid_number_ok"]), self.page_timeout
        )
        if "invalid_number_ok" in opened:
            with suppress(WebDriverException):
                ok_button = self._find("invalid_number_ok")
                if ok_button is not None:
                    ok_button.click()
            raise NotOnWhatsApp(phone_e164)
        box = self._find("compose_box")
        if box is None:
            raise TimeoutException("compose box vanished")
        before = set(self._outgoing_ids())
        self._type(box, text)
        if _normalise_text(self._compose_text(box)) != _normalise_text(text):
            self._clear(box)
            raise SendError("the compose box did not take the text", permanent=False)
        send_button = self._find("send_button")
        if send_button is not None:
            send_button.click()
        else:
            box.send_keys(Keys.ENTER)
        # From here on the message may be on its way: an error that leaves that open is an
        # unknown outcome, never retried, because a retry could send it twice.
        try:
            return self._confirm(box=box, before=before, digits=digits)
        except WebDriverException as exc:
            raise SendOutcomeUnknown(
                f"browser error after the send was pressed ({exc.msg}); the message may have "
                "been sent"
            ) from exc

    def _confirm(self, *, box: WebElement, before: set[str], digits: str) -> SendResult:
        try:
            wa_id = self._wait(
                lambda: next((i for i in self._outgoing_ids() if i not in before), None),
                self.send_timeout,
            )
        except TimeoutException as exc:
            if _normalise_text(self._compose_text(box)):
                self._clear(box)
                raise SendError(
                    "timed out before the message left the compose box", permanent=False
                ) from exc
            raise SendOutcomeUnknown(
                "the compose box emptied but no message appeared in the chat; the message "
                "may have been sent"
            ) from exc
        try:
            self._wait(
                lambda: self._statuses().get(wa_id) not in (None, "pending"), self.send_timeout
            )
        except TimeoutException as exc:
            # Followed like a sent message: a later receipt shows it did go out.
            self._track(wa_id, digits=digits, status=AckStatus.SENT)
            raise SendOutcomeUnknown(
                f"message {wa_id} left the compose box but WhatsApp did not confirm it "
                f"within {self.send_timeout:g} s; it may still be sent",
                wa_message_id=wa_id,
            ) from exc
        current = self._statuses().get(wa_id)
        if current == "failed":
            raise SendError(f"WhatsApp marked message {wa_id} as failed", permanent=False)
        self._track(
            wa_id,
            digits=digits,
            status=AckStatus(current) if current in ACK_RANK else AckStatus.SENT,
        )
        return SendResult(wa_message_id=wa_id)

    def _track(self, wa_id: str, *, digits: str, status: AckStatus) -> None:
        """Follow a message's receipts from here on (see poll_acks)."""
        self._tracked[wa_id] = _Tracked(
            phone_digits=digits, status=status, sent_at=time.monotonic()
        )

    def _type(self, box: WebElement, text: str) -> None:
        """Insert `text` as real input: the Lexical editor reverts scripted DOM edits.

        Input.insertText carries emoji and accents that send_keys cannot type; a line break
        is Shift+Enter because Enter alone sends.
        """
        box.click()
        if _normalise_text(self._compose_text(box)):
            self._clear(box)  # WhatsApp keeps drafts per chat
        for index, line in enumerate(text.replace("\r\n", "\n").split("\n")):
            if index:
                ActionChains(self.driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(
                    Keys.SHIFT
                ).perform()
            if line:
                self.driver.execute_cdp_cmd("Input.insertText", {"text": line})

    def _clear(self, box: WebElement) -> None:
        with suppress(WebDriverException):
            box.send_keys(Keys.CONTROL, "a")
            box.send_keys(Keys.BACKSPACE)

    def _compose_text(self, box: WebElement) -> str:
        return str(self.driver.execute_script("return arguments[0].innerText;", box))

    # Reading bubbles

    def _bubbles(self) -> list[dict[str, str]]:
        """Every message bubble of the open chat: id, status icon, its label and colour, text."""
        script = """
            const [bubbleCss, iconCss, textCss, idAttr, iconAttr] = arguments;
            const first = (root, list) => {
                for (const css of list) {
                    const found = root.querySelector(css);
                    if (found) { return found; }
                }
                return null;
            };
            let bubbles = [];
            for (const css of bubbleCss) {
                bubbles = Array.from(document.querySelectorAll(css));
                if (bubbles.length) { break; }
            }
            return bubbles.map((bubble) => {
                const icon = first(bubble, iconCss);
                const text = first(bubble, textCss);
                return {
                    id: bubble.getAttribute(idAttr) || "",
                    icon: icon ? icon.getAttribute(iconAttr) || "" : "",
                    label: icon ? icon.getAttribute("aria-label") || "" : "",
                    color: icon ? getComputedStyle(icon).color : "",
                    text: text ? text.innerText : "",
                };
            });
        """
        result: list[dict[str, str]] = self.driver.execute_script(
            script,
            self.selectors.css("message_bubble"),
            self.selectors.css("status_icon"),
            self.selectors.css("message_text"),
            self.selectors.attribute("message_id"),
            self.selectors.attribute("status_icon"),
        )
        return result

    def _outgoing_ids(self) -> list[str]:
        prefix = self.selectors.message_id("outgoing_prefix")
        return [bubble["id"] for bubble in self._bubbles() if bubble["id"].startswith(prefix)]

    def _status_of(self, bubble: dict[str, str]) -> str | None:
        icon = bubble["icon"]
        if icon in self.selectors.icons("read"):
            return AckStatus.READ
        if icon in self.selectors.icons("delivered"):
            read_labels = {label.lower() for label in self.selectors.texts("read_labels")}
            if (
                bubble["label"].strip().lower() in read_labels
                or bubble["color"] in self.selectors.read_icon_colors()
            ):
                return AckStatus.READ
            return AckStatus.DELIVERED
        if icon in self.selectors.icons("sent"):
            return AckStatus.SENT
        if icon in self.selectors.icons("pending"):
            return "pending"
        if icon in self.selectors.icons("failed"):
            return "failed"
        return None

    def _statuses(self) -> dict[str, str | None]:
        return {bubble["id"]: self._status_of(bubble) for bubble in self._bubbles()}

    # Acks and incoming messages

    def poll_acks(self) -> list[Ack]:
        if self.state() != DriverState.CONNECTED or not self._tracked:
            return []
        acks: list[Ack] = []
        seen_here = self._collect_acks(acks)
        now = time.monotonic()
        for wa_id in [i for i, t in self._tracked.items() if now - t.sent_at > ACK_FOLLOW_SECONDS]:
            del self._tracked[wa_id]
        waiting = {
            tracked.phone_digits
            for wa_id, tracked in self._tracked.items()
            if wa_id not in seen_here and tracked.status != AckStatus.READ
        }
        self._acks_checked = {d: t for d, t in self._acks_checked.items() if d in waiting}
        # The chats looked at longest ago come first, so none is starved by the others.
        oldest_first = sorted(waiting, key=lambda digits: self._acks_checked.get(digits, 0.0))
        for digits in oldest_first[:ACK_CHATS_PER_POLL]:
            self._acks_checked[digits] = time.monotonic()
            if self._open_chat_from_list(functools.partial(_title_is_number, digits)):
                self._collect_acks(acks)
        return acks

    def _collect_acks(self, acks: list[Ack]) -> set[str]:
        seen: set[str] = set()
        for wa_id, status in self._statuses().items():
            tracked = self._tracked.get(wa_id)
            if tracked is None:
                continue
            seen.add(wa_id)
            if status in ACK_RANK and ACK_RANK[AckStatus(status)] > ACK_RANK[tracked.status]:
                tracked.status = AckStatus(status)
                acks.append(Ack(wa_message_id=wa_id, status=tracked.status))
        for wa_id in [i for i, t in self._tracked.items() if t.status == AckStatus.READ]:
            del self._tracked[wa_id]
        return seen

    def _chat_rows(self) -> list[tuple[str, int]]:
        """Chat list rows as (title, unread count), read in one round trip."""
        script = """
            const [rowCss, titleCss, badgeCss] = arguments;
            const first = (root, list) => {
                for (const css of list) {
                    const found = root.querySelector(css);
                    if (found) { return found; }
                }
                return null;
            };
            let rows = [];
            for (const css of rowCss) {
                rows = Array.from(document.querySelectorAll(css));
                if (rows.length) { break; }
            }
            return rows.map((row) => {
                const title = first(row, titleCss);
                const badge = first(row, badgeCss);
                return [
                    title ? title.getAttribute("title") || "" : "",
                    badge ? badge.textContent || badge.getAttribute("aria-label") || "1" : "",
                ];
            });
        """
        rows: list[list[str]] = self.driver.execute_script(
            script,
            self.selectors.css("chat_row"),
            self.selectors.css("chat_row_title"),
            self.selectors.css("unread_badge"),
        )
        result = []
        for title, badge in rows:
            count = re.search(r"\d+", badge)
            result.append((title, int(count.group()) if count else (1 if badge else 0)))
        return result

    def _click_chat(self, title: str) -> bool:
        for row in self._find_all("chat_row"):
            title_element = self._find("chat_row_title", within=row)
            if title_element is not None and title_element.get_attribute("title") == title:
                row.click()
                return True
        return False

    def _open_chat_from_list(self, matches: Callable[[str], bool]) -> bool:
        """Open the first chat whose title `matches`, without reloading the app."""
        try:
            title = next((t for t, _unread in self._chat_rows() if matches(t)), None)
            if title is None:
                return False
            # The list re-renders as messages arrive: a row may go stale between find and click.
            WebDriverWait(
                self.driver,
                self.page_timeout,
                poll_frequency=POLL_SECONDS,
                ignored_exceptions=(StaleElementReferenceException,),
            ).until(lambda _driver: self._click_chat(title))
            self._wait(lambda: self._open_chat_title() == title, self.page_timeout)
        except (WebDriverException, TimeoutException):
            logger.debug("Could not open chat %r from the list", title, exc_info=True)
            return False
        return True

    def _open_chat_title(self) -> str | None:
        element = self._find("conversation_title")
        return element.get_attribute("title") if element is not None else None

    def poll_incoming(self) -> list[IncomingMessage]:
        if self.state() != DriverState.CONNECTED:
            return []
        try:
            unread = [(title, count) for title, count in self._chat_rows() if count]
        except WebDriverException:
            return []
        incoming: list[IncomingMessage] = []
        prefix = self.selectors.message_id("incoming_prefix")
        suffix = self.selectors.message_id("user_suffix")
        for title, count in unread:
            if not self._open_chat_from_list(functools.partial(_same_title, title)):
                continue
            bubbles = [b for b in self._bubbles() if b["id"].startswith(prefix)][-count:]
            for bubble in bubbles:
                wa_id = bubble["id"]
                jid = wa_id.removeprefix(prefix).split("_", 1)[0]
                # Group chats (@g.us) and broadcasts are not debtors answering.
                if wa_id in self._seen_incoming or not jid.endswith(suffix):
                    continue
                self._seen_incoming.add(wa_id)
                incoming.append(
                    IncomingMessage(
                        phone_e164=f"+{jid.removesuffix(suffix)}",
                        text=bubble["text"],
                        received_at=timezone.now(),
                    )
                )
        return incoming

    # Doctor

    def doctor(self) -> list[SelectorCheck]:
        """For every selector of the data file, how many elements of the live page match."""
        script = """
            const counts = {};
            for (const [name, selectors] of Object.entries(arguments[0])) {
                counts[name] = selectors.map((css) => {
                    try { return document.querySelectorAll(css).length; }
                    catch (error) { return -1; }
                });
            }
            return counts;
        """
        groups: dict[str, list[str]] = dict(self.selectors.data["selectors"])
        counts: dict[str, list[int]] = self.driver.execute_script(script, groups)
        return [
            SelectorCheck(name=name, selector=css, matches=count)
            for name, selectors in groups.items()
            for css, count in zip(selectors, counts[name], strict=True)
        ]
