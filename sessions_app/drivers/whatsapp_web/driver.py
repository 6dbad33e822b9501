"""The selenium driver: one account in one Chromium, through wa-js or the DOM.

WHATSAPP_STRATEGY picks the path: `wajs` (WhatsApp Web's own modules through the injected
wa-js bundle), `dom` (markup and clicks), or `auto`: wa-js, and the DOM when wa-js is not
ready within WHATSAPP_WAJS_READY_TIMEOUT (a WhatsApp Web build wa-js does not know yet).
"""

import logging
from contextlib import suppress
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from selenium.common.exceptions import TimeoutException, WebDriverException

from sessions_app.drivers.base import (
    Ack,
    DriverState,
    IncomingMessage,
    NumberCheck,
    PairingUnavailable,
    Restriction,
    SendError,
    SendResult,
    SentLookup,
)
from sessions_app.drivers.whatsapp_web.browser import Browser, script
from sessions_app.drivers.whatsapp_web.bundle import load_bundle
from sessions_app.drivers.whatsapp_web.dom import DomStrategy
from sessions_app.drivers.whatsapp_web.selectors import SelectorCheck, load_selectors
from sessions_app.drivers.whatsapp_web.wajs import WajsStrategy

logger = logging.getLogger(__name__)

STRATEGIES = ("auto", "wajs", "dom")


def _normalise_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


class SeleniumDriver:
    """One WhatsApp account in one Chromium, on a persistent profile directory."""

    def __init__(self, profile_dir: Path) -> None:
        self.profile_dir = Path(profile_dir)
        self.mode = settings.WHATSAPP_STRATEGY
        if self.mode not in STRATEGIES:
            raise ImproperlyConfigured(
                f"WHATSAPP_STRATEGY must be one of {', '.join(STRATEGIES)}, not {self.mode!r}"
            )
        self.browser = Browser(self.profile_dir)
        self.dom = DomStrategy(
            self.browser,
            load_selectors(settings.WHATSAPP_SELECTORS_FILE or None),
            base_url=settings.WHATSAPP_WEB_URL.rstrip("/"),
        )
        self.wajs = WajsStrategy(self.browser)
        self.page_timeout = float(settings.WHATSAPP_PAGE_TIMEOUT)
        self.send_timeout = float(settings.WHATSAPP_SEND_TIMEOUT)
        self.active: DomStrategy | WajsStrategy = self.dom if self.mode == "dom" else self.wajs
        self.strategy = self.active.name
        self.strategy_detail = ""

    @property
    def page_timeout(self) -> float:
        return self.dom.page_timeout

    @page_timeout.setter
    def page_timeout(self, seconds: float) -> None:
        self.dom.page_timeout = seconds

    @property
    def send_timeout(self) -> float:
        return self.dom.send_timeout

    @send_timeout.setter
    def send_timeout(self, seconds: float) -> None:
        self.dom.send_timeout = self.wajs.send_timeout = seconds

    @property
    def browser_pid(self) -> int | None:
        return self.browser.pid

    @property
    def driver(self) -> Any:
        """The WebDriver session, for the tests and the doctor."""
        return self.browser.driver

    # Lifecycle

    def start(self) -> None:
        # Read before Chromium starts, so a bad bundle is reported as what it is.
        bundle = load_bundle() if self.mode != "dom" else ""
        self.browser.launch()
        try:
            if bundle:
                self.browser.inject(bundle + "\n" + script("bridge.js"))
            self.browser.navigate(self.dom.base_url + "/")
        except WebDriverException as exc:
            self.close()
            raise RuntimeError(f"Chromium did not start WhatsApp Web: {exc.msg}") from exc
        if self.mode != "dom" and not self.wajs.wait_ready(settings.WHATSAPP_WAJS_READY_TIMEOUT):
            detail = (
                f"wa-js did not become ready within {settings.WHATSAPP_WAJS_READY_TIMEOUT} s"
                f" (wa-js {'loaded' if self.wajs.last.get('injected') else 'missing'})"
            )
            if self.mode == "auto":
                self.active, self.strategy = self.dom, self.dom.name
                self.strategy_detail = f"{detail}: using the DOM strategy"
                logger.warning("%s for %s", self.strategy_detail, self.profile_dir)
            else:
                self.strategy_detail = detail
                logger.error("%s for %s", detail, self.profile_dir)
        with suppress(TimeoutException):
            self.browser.wait(lambda: self.state() != DriverState.STARTING, self.page_timeout)

    def close(self) -> None:
        self.browser.close()

    # The protocol, through the strategy in use

    def state(self) -> DriverState:
        return self.active.state()

    def qr_payload(self) -> str | None:
        return self.active.qr_payload()

    def pairing_code(self, *, phone_e164: str) -> str:
        if self.active is not self.wajs:
            raise PairingUnavailable(
                "linking by phone number needs wa-js; this account runs on the DOM strategy: "
                "scan the QR code"
            )
        return self.wajs.pairing_code(phone_e164=phone_e164)

    def account_phone(self) -> str | None:
        return self.active.account_phone()

    def logout_reason(self) -> str:
        return self.wajs.logout_reason() if self.active is self.wajs else ""

    def restriction(self) -> Restriction | None:
        return self.active.restriction()

    def take_over(self) -> None:
        if self.active is self.wajs:
            self.wajs.take_over()

    def prepare_send(self, *, phone_e164: str) -> str | None:
        return self.wajs.prepare_send(phone_e164=phone_e164) if self.active is self.wajs else None

    def check_number(self, *, phone_e164: str) -> NumberCheck | None:
        if self.active is not self.wajs:
            return None  # the DOM path learns it from the send's invalid-number dialog
        return self.wajs.check_number(phone_e164=phone_e164)

    def send_text(self, *, phone_e164: str, text: str, message_id: str | None = None) -> SendResult:
        if not phone_e164.removeprefix("+").isdigit():
            raise SendError(f"{phone_e164} is not an E.164 number", permanent=True)
        if not _normalise_text(text):
            raise SendError("WhatsApp does not send an empty message", permanent=True)
        if self.active is self.wajs:
            return self.wajs.send_text(phone_e164=phone_e164, text=text, message_id=message_id)
        return self.dom.send_text(phone_e164=phone_e164, text=text)

    def find_sent(self, *, wa_message_id: str) -> SentLookup | None:
        return (
            self.wajs.find_sent(wa_message_id=wa_message_id) if self.active is self.wajs else None
        )

    def poll_acks(self) -> list[Ack]:
        return self.active.poll_acks()

    def poll_incoming(self) -> list[IncomingMessage]:
        return self.active.poll_incoming()

    def mark_read(self, *, phone_e164: str) -> None:
        # The DOM strategy reads incoming messages by opening their chat: read already.
        if self.active is self.wajs:
            self.wajs.mark_read(phone_e164=phone_e164)

    def logout(self) -> None:
        self.active.logout()

    # Doctor

    def doctor(self) -> list[SelectorCheck]:
        """For every selector of the data file, how many elements of the live page match."""
        return self.dom.doctor()

    def wajs_report(self) -> dict[str, Any]:
        return self.wajs.report()
