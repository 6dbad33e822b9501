"""What the DOM strategy reads from WhatsApp Web's markup: bubbles, chats, acks, replies.

Chats are opened from the chat list (no reload); they are found by their title, which is
the number for unsaved contacts and the contact's name in LID chats.
"""

import logging
import re
import time
from dataclasses import dataclass

from django.utils import timezone
from selenium.common.exceptions import (
    InvalidSelectorException,
    StaleElementReferenceException,
    TimeoutException,
    WebDriverException,
)
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from sessions_app.drivers.base import Ack, AckStatus, IncomingMessage
from sessions_app.drivers.whatsapp_web.browser import POLL_SECONDS, Browser
from sessions_app.drivers.whatsapp_web.selectors import SelectorCheck, WebSelectors

logger = logging.getLogger(__name__)

ACK_RANK = {AckStatus.SENT: 1, AckStatus.DELIVERED: 2, AckStatus.READ: 3}
# poll_acks reopens at most this many other chats per call, so one call stays short.
ACK_CHATS_PER_POLL = 5
# A message whose chat cannot be found again stops being followed after this long.
ACK_FOLLOW_SECONDS = 3 * 24 * 3600


@dataclass
class Tracked:
    chat_title: str
    status: AckStatus
    sent_at: float


class DomPage:
    """The page as the DOM strategy reads it; the strategy adds login and sending."""

    def __init__(self, browser: Browser, selectors: WebSelectors) -> None:
        self.browser = browser
        self.selectors = selectors
        self.page_timeout = 60.0
        self.send_timeout = 30.0
        self._tracked: dict[str, Tracked] = {}
        self._acks_checked: dict[str, float] = {}
        self._seen_incoming: set[str] = set()

    def connected(self) -> bool:
        raise NotImplementedError

    # Page helpers

    def _find(self, name: str, within: WebElement | None = None) -> WebElement | None:
        found = self._find_all(name, within)
        return found[0] if found else None

    def _find_all(self, name: str, within: WebElement | None = None) -> list[WebElement]:
        scope = within if within is not None else self.browser.driver
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
        groups = {name: self.selectors.css(name) for name in names}
        return set(self.browser.run("present.js", groups))

    def _dialog_with(self, texts: str, *, dismiss: bool) -> str | None:
        found: str | None = self.browser.run(
            "find_dialog.js",
            self.selectors.css("dialog"),
            self.selectors.css("dialog_button"),
            self.selectors.texts(texts),
            dismiss,
        )
        return found

    # Reading bubbles

    def _bubbles(self) -> list[dict[str, str]]:
        result: list[dict[str, str]] = self.browser.run(
            "bubbles.js",
            self.selectors.css("message_bubble"),
            self.selectors.css("status_icon"),
            self.selectors.css("message_text"),
            self.selectors.attribute("message_id"),
            self.selectors.attribute("status_icon"),
        )
        return result

    def _outgoing_ids(self) -> list[str]:
        prefixes = tuple(self.selectors.message_id("outgoing_prefix"))
        return [bubble["id"] for bubble in self._bubbles() if bubble["id"].startswith(prefixes)]

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
        if not self.connected() or not self._tracked:
            return []
        acks: list[Ack] = []
        seen_here = self._collect_acks(acks)
        now = time.monotonic()
        for wa_id in [i for i, t in self._tracked.items() if now - t.sent_at > ACK_FOLLOW_SECONDS]:
            del self._tracked[wa_id]
        waiting = {
            tracked.chat_title
            for wa_id, tracked in self._tracked.items()
            if wa_id not in seen_here and tracked.status != AckStatus.READ and tracked.chat_title
        }
        self._acks_checked = {d: t for d, t in self._acks_checked.items() if d in waiting}
        # The chats looked at longest ago come first, so none is starved by the others.
        oldest_first = sorted(waiting, key=lambda title: self._acks_checked.get(title, 0.0))
        for title in oldest_first[:ACK_CHATS_PER_POLL]:
            self._acks_checked[title] = time.monotonic()
            if self._open_chat_from_list(title):
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
        """Chat list rows as (title, unread count)."""
        rows: list[list[str]] = self.browser.run(
            "chat_rows.js",
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

    def _open_chat_from_list(self, title: str) -> bool:
        """Open the chat titled `title`, without reloading the app."""
        try:
            if not any(t == title for t, _unread in self._chat_rows()):
                return False
            # The list re-renders as messages arrive: a row may go stale between find and click.
            WebDriverWait(
                self.browser.driver,
                self.page_timeout,
                poll_frequency=POLL_SECONDS,
                ignored_exceptions=(StaleElementReferenceException,),
            ).until(lambda _driver: self._click_chat(title))
            self.browser.wait(lambda: self._open_chat_title() == title, self.page_timeout)
        except (WebDriverException, TimeoutException):
            logger.debug("Could not open chat %r from the list", title, exc_info=True)
            return False
        return True

    def _open_chat_title(self) -> str | None:
        element = self._find("conversation_title")
        return element.get_attribute("title") if element is not None else None

    def poll_incoming(self) -> list[IncomingMessage]:
        if not self.connected():
            return []
        try:
            unread = [(title, count) for title, count in self._chat_rows() if count]
        except WebDriverException:
            return []
        incoming: list[IncomingMessage] = []
        for title, count in unread:
            if not self._open_chat_from_list(title):
                continue
            for bubble in self._incoming_bubbles()[-count:]:
                message = self._incoming_of(bubble)
                if message is not None:
                    incoming.append(message)
        return incoming

    def _incoming_bubbles(self) -> list[dict[str, str]]:
        prefixes = tuple(self.selectors.message_id("incoming_prefix"))
        return [bubble for bubble in self._bubbles() if bubble["id"].startswith(prefixes)]

    def _incoming_of(self, bubble: dict[str, str]) -> IncomingMessage | None:
        wa_id = bubble["id"]
        jid = wa_id
        for prefix in self.selectors.message_id("incoming_prefix"):
            jid = jid.removeprefix(prefix)
        jid = jid.split("_", 1)[0]
        if wa_id in self._seen_incoming:
            return None
        phone = lid = ""
        for suffix in self.selectors.message_id("phone_suffix"):
            if jid.endswith(suffix):
                phone = f"+{jid.removesuffix(suffix)}"
        if any(jid.endswith(suffix) for suffix in self.selectors.message_id("lid_suffix")):
            lid = jid
        # Group chats (@g.us) and broadcasts are not debtors answering.
        if not phone and not lid:
            return None
        self._seen_incoming.add(wa_id)
        return IncomingMessage(
            phone_e164=phone,
            text=bubble["text"],
            received_at=timezone.now(),
            lid=lid,
            wa_message_id=wa_id,
        )

    # Doctor

    def doctor(self) -> list[SelectorCheck]:
        """For every selector of the data file, how many elements of the live page match."""
        groups: dict[str, list[str]] = dict(self.selectors.data["selectors"])
        counts: dict[str, list[int]] = self.browser.run("doctor.js", groups)
        return [
            SelectorCheck(name=name, selector=css, matches=count)
            for name, selectors in groups.items()
            for css, count in zip(selectors, counts[name], strict=True)
        ]
