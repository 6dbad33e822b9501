"""The WhatsApp driver protocol: everything outside `drivers/` talks to WhatsApp through it.

A driver owns one account's connection (a Chromium running WhatsApp Web, or the sandbox
network). It is used by a single thread at a time: the session host that holds the account,
or a `manage.py whatsapp` command when no host holds it.
"""

import datetime
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Protocol


class DriverState(StrEnum):
    STARTING = "starting"  # browser or app still loading
    WAITING_QR = "waiting_qr"  # login screen: qr_payload() has the string to encode
    CONNECTED = "connected"  # chat list visible: can send
    LOGGED_OUT = "logged_out"  # the phone removed the link: a new scan is needed
    BANNED = "banned"  # WhatsApp refuses the account
    ERROR = "error"  # the driver cannot tell (page broken, browser gone)


class AckStatus(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"


@dataclass(frozen=True)
class SendResult:
    wa_message_id: str


class SendError(Exception):
    """A send that did not happen.

    `permanent` errors will fail again however often they are retried (the number is not
    on WhatsApp, the text is refused); temporary ones (not connected, timeout before the
    message left the compose box) may be retried later.
    """

    def __init__(self, reason: str, *, permanent: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


class SendOutcomeUnknown(SendError):
    """Send was pressed, but whether the message left cannot be told.

    Never retried automatically (a retry could send it twice): the engine marks the message
    `unknown` and an operator checks the phone, then marks it sent or resends it. When the
    message did reach the chat, `wa_message_id` names it and the driver keeps following it:
    a later delivery or read receipt settles it without the operator.
    """

    def __init__(self, reason: str, *, wa_message_id: str = "") -> None:
        super().__init__(reason, permanent=True)
        self.wa_message_id = wa_message_id


class NotOnWhatsApp(SendError):
    def __init__(self, phone_e164: str) -> None:
        super().__init__(f"{phone_e164} is not on WhatsApp", permanent=True)


@dataclass(frozen=True)
class Ack:
    wa_message_id: str
    status: AckStatus


@dataclass(frozen=True)
class IncomingMessage:
    phone_e164: str
    text: str
    received_at: datetime.datetime


class WhatsAppDriver(Protocol):
    profile_dir: Path

    def start(self) -> None:
        """Launch the client on `profile_dir`; returns once the page has loaded."""

    def state(self) -> DriverState: ...

    def qr_payload(self) -> str | None:
        """The string the login QR encodes, or None when no QR is shown."""

    def send_text(self, *, phone_e164: str, text: str) -> SendResult:
        """Send `text` to `phone_e164` (E.164, with +). Raises SendError."""

    def poll_acks(self) -> list[Ack]:
        """Status changes of sent messages seen since the last call."""

    def poll_incoming(self) -> list[IncomingMessage]:
        """Messages received since the last call."""

    def logout(self) -> None:
        """Unlink the account (WhatsApp forgets this device)."""

    def close(self) -> None:
        """Stop the client; the profile stays so the next start needs no scan."""
