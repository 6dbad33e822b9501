"""The wa-js strategy: WhatsApp Web's own modules through the injected `WPP` object.

One long-lived page: nothing is reloaded or opened per message, so no chat is marked read.
Acks and incoming messages are queued inside the page by `js/bridge.js` and drained here.
"""

import datetime
import logging
import time
from typing import Any

from django.utils import timezone
from selenium.common.exceptions import TimeoutException, WebDriverException

from sessions_app.drivers.base import (
    AccountRestricted,
    Ack,
    AckStatus,
    DriverState,
    IncomingMessage,
    NumberCheck,
    NumberUnconfirmed,
    PairingUnavailable,
    Restriction,
    SendError,
    SendOutcomeUnknown,
    SendResult,
    SentLookup,
)
from sessions_app.drivers.whatsapp_web.browser import POLL_SECONDS, Browser

logger = logging.getLogger(__name__)

ACKS = {1: AckStatus.SENT, 2: AckStatus.DELIVERED, 3: AckStatus.READ, 4: AckStatus.READ}
ACK_FAILED = -1
STREAM_STATES = {
    "QR": DriverState.WAITING_QR,
    "MAIN": DriverState.CONNECTED,
    "SYNCING": DriverState.SYNCING,
    "OFFLINE": DriverState.OFFLINE,
    "CONFLICT": DriverState.CONFLICT,
    "TOS_BLOCK": DriverState.BANNED,
    "SMB_TOS_BLOCK": DriverState.BANNED,
    "DEPRECATED_VERSION": DriverState.NEEDS_UPDATE,
    "PROXYBLOCK": DriverState.ERROR,
}
RESTRICTED_REASON = (
    "WhatsApp refused a message to a new chat (ack -1, error 463): the number is "
    "restricted from starting chats for now"
)


class WajsError(Exception):
    """A wa-js call failed (its error code or message)."""


def chat_id(phone_e164: str) -> str:
    return f"{phone_e164.removeprefix('+')}@c.us"


def phone_of(wid: str) -> str:
    user, _, server = wid.partition("@")
    return f"+{user.split(':', 1)[0]}" if server == "c.us" and user else ""


class WajsStrategy:
    name = "wajs"

    def __init__(self, browser: Browser) -> None:
        self.browser = browser
        self.send_timeout = 30.0
        self.last: dict[str, Any] = {}
        self._was_connected = False
        self._restriction: Restriction | None = None

    def call(self, path: str, *args: Any) -> Any:
        """Await `WPP.<path>(*args)` in the page; WajsError when it rejects."""
        result: dict[str, Any] = self.browser.run_async("wajs_call.js", path, list(args))
        if not result["ok"]:
            raise WajsError(result["error"])
        return result["value"]

    def wait_ready(self, timeout: float) -> bool:
        try:
            self.browser.wait(lambda: self._read_state().get("ready") or None, timeout)
        except TimeoutException:
            return False
        return True

    def _read_state(self) -> dict[str, Any]:
        self.last = dict(self.browser.run("wajs_state.js"))
        return self.last

    # State and login

    def state(self) -> DriverState:
        if not self.browser.running:
            return DriverState.ERROR
        try:
            current = self._read_state()
        except WebDriverException:
            return DriverState.ERROR
        if not current.get("ready"):
            return DriverState.STARTING
        if current.get("needsUpdate"):
            return DriverState.NEEDS_UPDATE
        state = STREAM_STATES.get(current.get("mode", ""), DriverState.STARTING)
        if state == DriverState.WAITING_QR and (self._was_connected or current["logoutReason"]):
            return DriverState.LOGGED_OUT
        if state == DriverState.CONNECTED:
            self._was_connected = True
            if self._restriction is not None:
                return DriverState.RESTRICTED
        return state

    def qr_payload(self) -> str | None:
        try:
            if self.browser.run("wajs_qr_idle.js"):
                code = self.call("conn.refreshQR")
            else:
                code = self.call("conn.getAuthCode")
        except (WajsError, WebDriverException):
            return None
        return str(code["fullCode"]) if code else None

    def pairing_code(self, *, phone_e164: str) -> str:
        if self.state() not in (DriverState.WAITING_QR, DriverState.LOGGED_OUT):
            raise PairingUnavailable("the account is not on the login screen")
        try:
            return str(
                self.call("conn.genLinkDeviceCodeForPhoneNumber", phone_e164.removeprefix("+"))
            )
        except (WajsError, WebDriverException) as exc:
            raise PairingUnavailable(f"WhatsApp gave no pairing code: {exc}") from exc

    def account_phone(self) -> str | None:
        me = str(self.last.get("me") or "")
        return phone_of(me) or None

    def logout_reason(self) -> str:
        return str(self.last.get("logoutReason") or "")

    def restriction(self) -> Restriction | None:
        return self._restriction

    def take_over(self) -> None:
        self.call("whatsapp.Socket.takeover")

    def logout(self) -> None:
        if self.state() == DriverState.CONNECTED:
            self.call("conn.logout")

    # Sending

    def prepare_send(self, *, phone_e164: str) -> str | None:
        try:
            return str(self.call("chat.generateMessageID", chat_id(phone_e164)))
        except (WajsError, WebDriverException) as exc:
            raise SendError(f"WhatsApp made no message id: {exc}", permanent=False) from exc

    def check_number(self, *, phone_e164: str) -> NumberCheck | None:
        try:
            found = self.call("contact.queryWidExists", chat_id(phone_e164))
        except (WajsError, WebDriverException) as exc:
            raise NumberUnconfirmed(f"the number check failed: {exc}") from exc
        if not found:
            raise NumberUnconfirmed(
                f"WhatsApp did not confirm that {phone_e164} has an account"
                " (no answer: not on WhatsApp, or the network)"
            )
        return NumberCheck(on_whatsapp=True, lid=str(found.get("lid") or ""))

    def send_text(self, *, phone_e164: str, text: str, message_id: str | None) -> SendResult:
        if (current := self.state()) != DriverState.CONNECTED:
            raise SendError(f"not connected ({current})", permanent=False)
        options: dict[str, object] = {
            "createChat": True,
            "markIsRead": False,
            "linkPreview": False,
            "waitForAck": False,
        }
        if message_id:
            options["messageId"] = message_id
        try:
            sent = self.call("chat.sendTextMessage", chat_id(phone_e164), text, options)
        except (WajsError, WebDriverException) as exc:
            if message_id and self._lookup(message_id) is not None:
                # The call failed after WhatsApp took the message: follow it as sent.
                sent = {"id": message_id}
            else:
                raise SendError(
                    f"WhatsApp did not take the message: {exc}", permanent=False
                ) from exc
        wa_id = str(sent["id"])
        ack = self._await_server_ack(wa_id)
        if ack is None:
            raise SendOutcomeUnknown(
                f"message {wa_id} was handed to WhatsApp but the server did not confirm it "
                f"within {self.send_timeout:g} s; it may still be sent",
                wa_message_id=wa_id,
            )
        if ack == ACK_FAILED:
            self._restriction = Restriction(reason=RESTRICTED_REASON, since=timezone.now())
            raise AccountRestricted(RESTRICTED_REASON, sent=False, wa_message_id=wa_id)
        return SendResult(wa_message_id=wa_id)

    def _lookup(self, wa_id: str) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.call("chat.getMessageById", wa_id)
        except WajsError:
            return None
        return found

    def _await_server_ack(self, wa_id: str) -> int | None:
        """The first ack past "pending" (1 sent and up, or -1 refused); None: timed out."""
        deadline = time.monotonic() + self.send_timeout
        while time.monotonic() < deadline:
            found = self._lookup(wa_id)
            if found is not None and (found["ack"] >= 1 or found["ack"] == ACK_FAILED):
                return int(found["ack"])
            time.sleep(POLL_SECONDS / 2)
        return None

    def find_sent(self, *, wa_message_id: str) -> SentLookup | None:
        found = self._lookup(wa_message_id)
        if found is None:
            return SentLookup(
                status=None, evidence="WhatsApp Web has no message with this id in its store"
            )
        ack = int(found["ack"])
        if ack == ACK_FAILED:
            return SentLookup(status=None, evidence="WhatsApp Web shows this message as failed")
        if ack < 1:
            return SentLookup(status=None, evidence="WhatsApp Web still shows it waiting to go")
        return SentLookup(status=ACKS[min(ack, 4)], evidence=f"WhatsApp Web shows ack {ack}")

    # Acks and incoming messages

    def poll_acks(self) -> list[Ack]:
        acks: list[Ack] = []
        for event in self.browser.run("wajs_drain.js", "acks"):
            status = ACKS.get(int(event["ack"]))
            if status is not None:
                acks.extend(Ack(wa_message_id=str(wa_id), status=status) for wa_id in event["ids"])
        return acks

    def poll_incoming(self) -> list[IncomingMessage]:
        incoming = []
        for message in self.browser.run("wajs_drain.js", "incoming"):
            sender = str(message["from"])
            # Groups (@g.us), channels and status broadcasts are not debtors answering.
            if str(message["chat"]) != sender:
                continue
            if sender.endswith("@lid"):
                phone = self._phone_of_lid(sender)
                lid = sender
            elif sender.endswith("@c.us"):
                phone, lid = phone_of(sender), ""
            else:
                continue
            at = message.get("t")
            kind = str(message.get("type") or "chat")
            incoming.append(
                IncomingMessage(
                    phone_e164=phone,
                    text=str(message["body"]),
                    received_at=(
                        datetime.datetime.fromtimestamp(int(at), tz=datetime.UTC)
                        if at
                        else timezone.now()
                    ),
                    lid=lid,
                    wa_message_id=str(message.get("id") or ""),
                    media="" if kind == "chat" else kind,
                )
            )
        return incoming

    def mark_read(self, *, phone_e164: str) -> None:
        try:
            self.call("chat.markIsRead", chat_id(phone_e164))
        except (WajsError, WebDriverException) as exc:
            logger.warning("The chat with %s was not marked read: %s", phone_e164, exc)

    def _phone_of_lid(self, lid: str) -> str:
        try:
            entry = self.call("contact.getPnLidEntry", lid)
        except WajsError:
            logger.info("WhatsApp knows no phone number for %s", lid)
            return ""
        return phone_of(str((entry or {}).get("phoneNumber") or ""))

    # Doctor

    def report(self) -> dict[str, Any]:
        """What `doctor` prints: version, readiness, stream, own id, LID migration."""
        current = self._read_state()
        report: dict[str, Any] = dict(current)
        if current.get("ready"):
            try:
                report["migration"] = self.call("conn.getMigrationState")
            except WajsError as exc:
                report["migration"] = {"error": str(exc)}
        return report
