"""The DOM strategy: WhatsApp Web read and clicked through its markup, the fallback path.

It opens `/send?phone=` for every message (a reload of the app), types into the compose
box and reads message bubbles. Every selector and text comes from the data file
(`selectors.py`); none depends on an English label, because WhatsApp Web speaks the
phone's language.
"""

import functools
import logging
import re
import time
from contextlib import suppress

from django.utils import timezone
from selenium.common.exceptions import (
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement

from sessions_app.drivers.base import (
    AccountRestricted,
    AckStatus,
    DriverState,
    NotOnWhatsApp,
    Restriction,
    SendError,
    SendOutcomeUnknown,
    SendResult,
)
from sessions_app.drivers.whatsapp_web.browser import Browser
from sessions_app.drivers.whatsapp_web.dom_page import ACK_RANK, DomPage, Tracked
from sessions_app.drivers.whatsapp_web.selectors import WebSelectors

logger = logging.getLogger(__name__)

# A chat whose footer shows no compose box for this long is restricted, not still loading.
RESTRICTION_SETTLE_SECONDS = 1.5


def _normalise_text(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n").strip()


class DomStrategy(DomPage):
    name = "dom"

    def __init__(self, browser: Browser, selectors: WebSelectors, *, base_url: str) -> None:
        super().__init__(browser, selectors)
        self.base_url = base_url
        self._was_connected = False
        self._restriction: Restriction | None = None

    def connected(self) -> bool:
        return self.state() == DriverState.CONNECTED

    # State and login

    def state(self) -> DriverState:
        if not self.browser.running:
            return DriverState.ERROR
        try:
            driver = self.browser.driver
            url = driver.current_url
            ready = driver.execute_script("return document.readyState") == "complete"
            present = self._present(["chat_list", "qr_container", "startup"])
        except WebDriverException:
            return DriverState.ERROR
        if "chat_list" in present:
            self._was_connected = True
            return DriverState.RESTRICTED if self._restriction else DriverState.CONNECTED
        if self.selectors.url("logged_out_marker") in url:
            return DriverState.LOGGED_OUT
        if "qr_container" in present:
            return DriverState.LOGGED_OUT if self._was_connected else DriverState.WAITING_QR
        if "startup" in present or not ready:
            return DriverState.STARTING
        # The app renders its screens a moment after the document loads.
        if time.monotonic() - self.browser.navigated_at < self.page_timeout:
            return DriverState.STARTING
        return DriverState.ERROR

    def restriction(self) -> Restriction | None:
        return self._restriction

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
                self.browser.wait(lambda: self._find("qr_reload") is None, self.page_timeout)
                self.browser.wait(
                    lambda: self._current_qr() not in (None, "", stale), self.page_timeout
                )
            return self._current_qr() or None
        except (WebDriverException, TimeoutException):
            return None

    def _current_qr(self) -> str | None:
        container = self._find("qr_container")
        if container is None:
            return None
        return container.get_attribute(self.selectors.attribute("qr_payload"))

    def account_phone(self) -> str | None:
        try:
            value = self.browser.run("local_storage.js", self.selectors.local_storage("own_wid"))
        except WebDriverException:
            return None
        match = re.match(r'"?(\d{6,15})[:@]', value or "")
        return f"+{match.group(1)}" if match else None

    def logout(self) -> None:
        if self.state() != DriverState.CONNECTED:
            return
        self.browser.wait(functools.partial(self._find, "menu_button"), self.page_timeout).click()
        self.browser.wait(
            lambda: self.browser.run(
                "click_by_text.js", self.selectors.css("menu_item"), self.selectors.texts("logout")
            ),
            self.page_timeout,
        )
        self.browser.wait(
            functools.partial(self._find, "logout_confirm"), self.page_timeout
        ).click()
        self.browser.wait(
            lambda: (
                "qr_container" in self._present(["qr_container"])
                or self.selectors.url("logged_out_marker") in self.browser.driver.current_url
            ),
            self.page_timeout,
        )

    # Sending

    def send_text(self, *, phone_e164: str, text: str) -> SendResult:
        digits = phone_e164.removeprefix("+")
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

    def _open_for_send(self, digits: str, phone_e164: str) -> WebElement:
        self.browser.navigate(self.base_url + self.selectors.url("send_path").format(phone=digits))
        footer_since: list[float] = []

        def opened() -> str | None:
            if self._find("compose_box") is not None:
                return "compose"
            if self._dialog_with("invalid_number", dismiss=True) is not None:
                return "invalid"
            footer = self._find("conversation_footer")
            if footer is None:
                footer_since.clear()
                return None
            if not footer_since:
                footer_since.append(time.monotonic())
            # The compose bar replaced by a notice: WhatsApp restricts new chats.
            if time.monotonic() - footer_since[0] >= RESTRICTION_SETTLE_SECONDS:
                return "restricted"
            return None

        outcome = self.browser.wait(opened, self.page_timeout)
        if outcome == "invalid":
            raise NotOnWhatsApp(phone_e164)
        if outcome == "restricted":
            footer = self._find("conversation_footer")
            notice = _normalise_text(footer.text if footer is not None else "")
            reason = notice or "WhatsApp shows no compose box in new chats"
            self._restriction = Restriction(reason=reason[:255], since=timezone.now())
            raise AccountRestricted(f"WhatsApp restricts this account: {reason}", sent=False)
        box = self._find("compose_box")
        if box is None:
            raise TimeoutException("compose box vanished")
        return box

    def _send(self, *, digits: str, phone_e164: str, text: str) -> SendResult:
        box = self._open_for_send(digits, phone_e164)
        title = self._open_chat_title() or ""
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
            return self._confirm(box=box, before=before, title=title)
        except WebDriverException as exc:
            raise SendOutcomeUnknown(
                f"browser error after the send was pressed ({exc.msg}); the message may have "
                "been sent"
            ) from exc

    def _confirm(self, *, box: WebElement, before: set[str], title: str) -> SendResult:
        try:
            wa_id = self.browser.wait(
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
            self.browser.wait(
                lambda: self._statuses().get(wa_id) not in (None, "pending"), self.send_timeout
            )
        except TimeoutException as exc:
            # Followed like a sent message: a later receipt shows it did go out.
            self._track(wa_id, title=title, status=AckStatus.SENT)
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
            title=title,
            status=AckStatus(current) if current in ACK_RANK else AckStatus.SENT,
        )
        return SendResult(wa_message_id=wa_id, lid=self._lid_of(wa_id))

    def _lid_of(self, wa_id: str) -> str:
        """The chat's LID when WhatsApp keys the chat by it (`true_<lid>@lid_<id>`)."""
        for prefix in self.selectors.message_id("outgoing_prefix"):
            jid = wa_id.removeprefix(prefix).split("_", 1)[0]
            if any(jid.endswith(suffix) for suffix in self.selectors.message_id("lid_suffix")):
                return jid
        return ""

    def _track(self, wa_id: str, *, title: str, status: AckStatus) -> None:
        """Follow a message's receipts from here on (see poll_acks)."""
        self._tracked[wa_id] = Tracked(chat_title=title, status=status, sent_at=time.monotonic())

    def _type(self, box: WebElement, text: str) -> None:
        """Insert `text` as real input: the Lexical editor reverts scripted DOM edits.

        Input.insertText carries emoji and accents that send_keys cannot type; a line break
        is Shift+Enter because Enter alone sends.
        """
        box.click()
        if _normalise_text(self._compose_text(box)):
            self._clear(box)  # WhatsApp keeps drafts per chat
        driver = self.browser.driver
        for index, line in enumerate(text.replace("\r\n", "\n").split("\n")):
            if index:
                ActionChains(driver).key_down(Keys.SHIFT).send_keys(Keys.ENTER).key_up(
                    Keys.SHIFT
                ).perform()
            if line:
                driver.execute_cdp_cmd("Input.insertText", {"text": line})

    def _clear(self, box: WebElement) -> None:
        with suppress(WebDriverException):
            box.send_keys(Keys.CONTROL, "a")
            box.send_keys(Keys.BACKSPACE)

    def _compose_text(self, box: WebElement) -> str:
        return str(self.browser.run("compose_text.js", box))
