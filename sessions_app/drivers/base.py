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
    SYNCING = "syncing"  # linked, still loading chats from the phone: sends wait
    OFFLINE = "offline"  # linked, but WhatsApp's servers are out of reach: sends wait
    CONFLICT = "conflict"  # open in another window: take_over() brings it here
    RESTRICTED = "restricted"  # WhatsApp refuses sends for now: restriction() says why
    LOGGED_OUT = "logged_out"  # the phone removed the link: a new scan is needed
    BANNED = "banned"  # WhatsApp refuses the account
    NEEDS_UPDATE = "needs_update"  # WhatsApp Web wants a newer browser or client
    ERROR = "error"  # the driver cannot tell (page broken, browser gone)


class AckStatus(StrEnum):
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"


@dataclass(frozen=True)
class SendResult:
    wa_message_id: str
    # The contact's LID (`…@lid`) when the send revealed it; replies may come from it.
    lid: str = ""


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


class NumberUnconfirmed(SendError):
    """WhatsApp did not say the number has an account: temporary, never proof of absence.

    Its answer is the same for an absent number and a network error, so only when every
    attempt of a message met it does the engine take the number as absent.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=False)


class AccountRestricted(SendError):
    """WhatsApp refused the send because it restricts the account (reach-out timelock).

    `sent` is False when the evidence says the message never left (ack -1 before any
    server ack): it may go to another account. Otherwise its outcome is unknown.
    """

    def __init__(self, reason: str, *, sent: bool, wa_message_id: str = "") -> None:
        super().__init__(reason, permanent=True)
        self.sent = sent
        self.wa_message_id = wa_message_id


@dataclass(frozen=True)
class Restriction:
    reason: str
    since: datetime.datetime
    until: datetime.datetime | None = None


@dataclass(frozen=True)
class NumberCheck:
    """WhatsApp's answer to "is this number on WhatsApp?" (and the contact's LID if known)."""

    on_whatsapp: bool
    lid: str = ""


@dataclass(frozen=True)
class SentLookup:
    """What WhatsApp's own store says of a message id: its ack, or None when not found."""

    status: AckStatus | None
    evidence: str


@dataclass(frozen=True)
class Ack:
    wa_message_id: str
    status: AckStatus


@dataclass(frozen=True)
class IncomingMessage:
    phone_e164: str  # "" when WhatsApp only names the sender by its LID
    text: str  # a media message's caption, "" without one
    received_at: datetime.datetime
    lid: str = ""  # the sender's `…@lid` id when WhatsApp gave one
    # WhatsApp's id of the message: a message polled twice is recorded once.
    wa_message_id: str = ""
    # What a message that is not text carries ("image", "audio", "document"...), "" for text.
    media: str = ""


class PairingUnavailable(Exception):
    """No pairing code now: the account is linked already, or this client cannot ask."""


class WhatsAppDriver(Protocol):
    profile_dir: Path
    # How this client talks to WhatsApp ("wajs", "dom", "sandbox") and why, if it fell back.
    strategy: str
    strategy_detail: str

    def start(self) -> None:
        """Launch the client on `profile_dir`; returns once the page has loaded."""

    def state(self) -> DriverState: ...

    def qr_payload(self) -> str | None:
        """The string the login QR encodes, or None when no QR is shown."""

    def pairing_code(self, *, phone_e164: str) -> str:
        """The 8-character code that links the account by its number. PairingUnavailable."""

    def account_phone(self) -> str | None:
        """The linked account's own number (E.164), once WhatsApp tells it."""

    def logout_reason(self) -> str:
        """Why WhatsApp logged the account out ("" when it did not say)."""

    def restriction(self) -> Restriction | None:
        """Why and since when WhatsApp restricts the account (state RESTRICTED)."""

    def take_over(self) -> None:
        """ "Use here": bring the account back from the other window (state CONFLICT)."""

    def prepare_send(self, *, phone_e164: str) -> str | None:
        """A WhatsApp message id for the next send to `phone_e164`, made locally and cheaply.

        The engine commits it on the message before the send, so that after a crash the
        message can be looked up by it. None: this client cannot choose ids.
        """

    def check_number(self, *, phone_e164: str) -> NumberCheck | None:
        """Ask WhatsApp whether the number has an account; None: this client cannot ask.

        No answer from WhatsApp is not proof of absence: a temporary SendError.
        """

    def send_text(self, *, phone_e164: str, text: str, message_id: str | None = None) -> SendResult:
        """Send `text` to `phone_e164` (E.164, with +), as `message_id` if given."""

    def find_sent(self, *, wa_message_id: str) -> SentLookup | None:
        """Look a message up in WhatsApp's own store; None: this client cannot."""

    def poll_acks(self) -> list[Ack]:
        """Status changes of sent messages seen since the last call."""

    def poll_incoming(self) -> list[IncomingMessage]:
        """Messages received since the last call, without marking their chat read."""

    def mark_read(self, *, phone_e164: str) -> None:
        """Mark the chat with `phone_e164` read: the contact sees the read receipts.

        Never raises: a chat left unread is logged, the answer that caused it stands.
        """

    def logout(self) -> None:
        """Unlink the account (WhatsApp forgets this device)."""

    def close(self) -> None:
        """Stop the client; the profile stays so the next start needs no scan."""
