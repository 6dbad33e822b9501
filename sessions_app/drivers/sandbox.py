"""A simulated WhatsApp network for demos, tests and benchmarks.

It behaves like WhatsApp Web seen through the driver protocol: a QR that rotates until
the operator "scans" it (*Simulate scan* writes a marker into the account's profile), a link
that survives restarts (kept in the profile), send latency, acks that move sent ->
delivered -> read, numbers ending in 000 not on WhatsApp, and occasional replies (some of
them STOP). Every message that "reaches WhatsApp" is appended to the network's send log,
which tests and benchmarks read to prove that nothing was sent twice; every chat marked read
(the contact sees blue ticks) is appended to its read log.
"""

import hashlib
import os
import random
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from sessions_app.drivers.base import (
    Ack,
    AckStatus,
    DriverState,
    IncomingMessage,
    NotOnWhatsApp,
    NumberCheck,
    PairingUnavailable,
    Restriction,
    SendError,
    SendResult,
    SentLookup,
)

QR_ROTATION_SECONDS = 20
LINKED_MARKER = "sandbox-linked"
SCAN_MARKER = "sandbox-scan"
REMOTE_LOGOUT_MARKER = "sandbox-remote-logout"
REPLIES_FILE = "sandbox-replies"
# Ack and reply delays in seconds, scaled by WHATSAPP_SANDBOX_LATENCY like send latency.
DELIVERED_AFTER = (1.0, 4.0)
READ_AFTER = (3.0, 30.0)
REPLY_AFTER = (5.0, 40.0)
REPLY_SHARE = 0.06
STOP_SHARE_OF_REPLIES = 0.3
REPLIES = ["Ok, gracias", "Ya pagué", "¿Me puede llamar mañana?", "Hablo con mi asesor"]


def send_log_path() -> Path:
    return Path(settings.WHATSAPP_SANDBOX_DIR) / "sent.log"


def read_log_path() -> Path:
    return Path(settings.WHATSAPP_SANDBOX_DIR) / "read.log"


def _append(path: Path, line: str) -> None:
    """One short O_APPEND write: concurrent writers never interleave lines."""
    try:
        log = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        log = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(log, line.encode())
    finally:
        os.close(log)


def read_read_log() -> list[tuple[str, str]]:
    """Every chat an account marked read: (account profile, phone)."""
    path = read_log_path()
    if not path.exists():
        return []
    return [
        (profile, phone)
        for profile, phone in (line.split("\t") for line in path.read_text().splitlines())
    ]


def read_send_log() -> list[tuple[str, str, str]]:
    """Every send the network received: (WhatsApp id, account profile, phone)."""
    path = send_log_path()
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        wa_id, profile, phone, _digest = line.split("\t")
        rows.append((wa_id, profile, phone))
    return rows


def simulate_scan(profile_dir: Path) -> None:
    """What a phone does when it scans the account's QR code (or takes its pairing code)."""
    (profile_dir / SCAN_MARKER).touch()


def simulate_remote_logout(profile_dir: Path, reason: str = "") -> None:
    """What happens when the phone removes this linked device (WhatsApp may say why)."""
    (profile_dir / REMOTE_LOGOUT_MARKER).write_text(reason)


def simulate_reply(profile_dir: Path, *, phone_e164: str, text: str) -> None:
    """What a debtor's phone does when it writes to the account (one line per reply)."""
    with (profile_dir / REPLIES_FILE).open("a", encoding="utf-8") as replies:
        replies.write(f"{phone_e164}\t{text}\n")


def _fraction(*parts: str) -> float:
    """A stable pseudo-random number in [0, 1) derived from `parts`."""
    digest = hashlib.blake2b("|".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest) / 2**64


@dataclass
class _Sent:
    wa_message_id: str
    phone_e164: str
    sent_at: float
    status: AckStatus = AckStatus.SENT
    replied: bool = False


class SandboxDriver:
    strategy = "sandbox"
    strategy_detail = ""

    def __init__(self, *, profile_dir: Path) -> None:
        self.profile_dir = profile_dir
        self._latency = float(settings.WHATSAPP_SANDBOX_LATENCY)
        self._state = DriverState.STARTING
        self._qr: str | None = None
        self._qr_at = 0.0
        self._sent: dict[str, _Sent] = {}
        self._logout_reason = ""
        self._pairing_phone: str | None = None

    def _pause(self, low: float, high: float) -> None:
        if self._latency > 0:
            time.sleep(random.uniform(low, high) * self._latency)

    def start(self) -> None:
        self._pause(0.5, 1.5)
        self._state = (
            DriverState.CONNECTED
            if (self.profile_dir / LINKED_MARKER).exists()
            else DriverState.WAITING_QR
        )

    def state(self) -> DriverState:
        remote_logout = self.profile_dir / REMOTE_LOGOUT_MARKER
        if remote_logout.exists():
            self._logout_reason = remote_logout.read_text()
            remote_logout.unlink()
            (self.profile_dir / LINKED_MARKER).unlink(missing_ok=True)
            self._state = DriverState.LOGGED_OUT
        scan = self.profile_dir / SCAN_MARKER
        if self._state == DriverState.WAITING_QR and scan.exists():
            scan.unlink()
            (self.profile_dir / LINKED_MARKER).write_text(self._pairing_phone or "")
            self._state = DriverState.CONNECTED
            self._qr = None
        return self._state

    def pairing_code(self, *, phone_e164: str) -> str:
        if self.state() != DriverState.WAITING_QR:
            raise PairingUnavailable("the account is not on the login screen")
        self._pause(0.3, 0.8)
        self._pairing_phone = phone_e164
        # WhatsApp's codes: 8 characters of an alphabet without look-alikes.
        return "".join(secrets.choice("ABCDEFGHJKLMNPQRSTVWXYZ0123456789") for _ in range(8))

    def account_phone(self) -> str | None:
        linked = self.profile_dir / LINKED_MARKER
        return (linked.read_text() or None) if linked.exists() else None

    def logout_reason(self) -> str:
        return self._logout_reason

    def restriction(self) -> Restriction | None:
        return None

    def take_over(self) -> None:
        """The sandbox network never opens an account in a second window."""

    def prepare_send(self, *, phone_e164: str) -> str | None:
        return f"true_{phone_e164.lstrip('+')}@c.us_3EB0{uuid.uuid4().hex[:16].upper()}"

    def check_number(self, *, phone_e164: str) -> NumberCheck | None:
        if self.state() != DriverState.CONNECTED:
            raise SendError("the account is not connected", permanent=False)
        self._pause(0.1, 0.3)
        return NumberCheck(on_whatsapp=not phone_e164.endswith("000"))

    def find_sent(self, *, wa_message_id: str) -> SentLookup | None:
        if wa_message_id in self._sent:
            return SentLookup(status=self._sent[wa_message_id].status, evidence="in this client")
        if any(row[0] == wa_message_id for row in read_send_log()):
            return SentLookup(status=AckStatus.SENT, evidence="in the network's send log")
        return SentLookup(status=None, evidence="the sandbox network never received it")

    def qr_payload(self) -> str | None:
        if self.state() != DriverState.WAITING_QR:
            return None
        now = time.monotonic()
        if self._qr is None or now - self._qr_at >= QR_ROTATION_SECONDS:
            # Shaped like WhatsApp's: ref,publickey,identitykey,secret
            self._qr = ",".join(
                ["2@" + secrets.token_urlsafe(48)] + [secrets.token_urlsafe(32) for _ in range(3)]
            )
            self._qr_at = now
        return self._qr

    def send_text(self, *, phone_e164: str, text: str, message_id: str | None = None) -> SendResult:
        if self.state() != DriverState.CONNECTED:
            raise SendError("the account is not connected", permanent=False)
        self._pause(0.4, 1.2)
        if phone_e164.endswith("000"):
            raise NotOnWhatsApp(phone_e164)
        wa_id = message_id or self.prepare_send(phone_e164=phone_e164) or ""
        digest = hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()[:12]
        _append(send_log_path(), f"{wa_id}\t{self.profile_dir.name}\t{phone_e164}\t{digest}\n")
        self._sent[wa_id] = _Sent(wa_id, phone_e164, time.monotonic())
        return SendResult(wa_message_id=wa_id)

    def _after(self, bounds: tuple[float, float], wa_id: str, kind: str) -> float:
        low, high = bounds
        return (low + (high - low) * _fraction(wa_id, kind)) * self._latency

    def poll_acks(self) -> list[Ack]:
        now = time.monotonic()
        acks = []
        for sent in self._sent.values():
            age = now - sent.sent_at
            if sent.status == AckStatus.SENT and age >= self._after(
                DELIVERED_AFTER, sent.wa_message_id, "d"
            ):
                sent.status = AckStatus.DELIVERED
                acks.append(Ack(sent.wa_message_id, AckStatus.DELIVERED))
            if sent.status == AckStatus.DELIVERED and age >= self._after(
                READ_AFTER, sent.wa_message_id, "r"
            ):
                sent.status = AckStatus.READ
                acks.append(Ack(sent.wa_message_id, AckStatus.READ))
        self._forget_settled()
        return acks

    def poll_incoming(self) -> list[IncomingMessage]:
        now = time.monotonic()
        incoming = self._simulated_replies()
        for sent in self._sent.values():
            wa_id = sent.wa_message_id
            if sent.replied or _fraction(wa_id, "reply") >= REPLY_SHARE:
                continue
            if now - sent.sent_at >= self._after(REPLY_AFTER, wa_id, "t"):
                sent.replied = True
                if _fraction(wa_id, "stop") < STOP_SHARE_OF_REPLIES:
                    text = "STOP"
                else:
                    text = REPLIES[int(_fraction(wa_id, "text") * len(REPLIES))]
                digits = sent.phone_e164.lstrip("+")
                reply_id = hashlib.blake2b(wa_id.encode(), digest_size=9).hexdigest().upper()
                incoming.append(
                    IncomingMessage(
                        sent.phone_e164,
                        text,
                        timezone.now(),
                        wa_message_id=f"false_{digits}@c.us_3A{reply_id}",
                    )
                )
        self._forget_settled()
        return incoming

    def _simulated_replies(self) -> list[IncomingMessage]:
        replies = self.profile_dir / REPLIES_FILE
        try:
            lines = replies.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        replies.unlink()
        return [
            IncomingMessage(phone, text, timezone.now())
            for phone, text in (line.split("\t", 1) for line in lines if "\t" in line)
        ]

    def _forget_settled(self) -> None:
        settled = [
            wa_id
            for wa_id, sent in self._sent.items()
            if sent.status == AckStatus.READ
            and (sent.replied or _fraction(wa_id, "reply") >= REPLY_SHARE)
        ]
        for wa_id in settled:
            del self._sent[wa_id]

    def mark_read(self, *, phone_e164: str) -> None:
        if self.state() != DriverState.CONNECTED:
            return
        _append(read_log_path(), f"{self.profile_dir.name}\t{phone_e164}\n")

    def logout(self) -> None:
        (self.profile_dir / LINKED_MARKER).unlink(missing_ok=True)
        self._logout_reason = "user_initiated"
        self._state = DriverState.LOGGED_OUT

    def close(self) -> None:
        self._state = DriverState.STARTING
