"""A local replica of WhatsApp Web for the Selenium driver's tests and benchmark.

It follows the facts the driver must cope with on the real site, not the driver's
convenience: a `data-ref` QR that rotates and goes idle, an app that boots after every
navigation, `/send?phone=` routing, a Lexical-like compose box that reverts scripted DOM
edits, status icons that progress, unread badges, remote logout to `?post_logout=1`, and a
browser profile that stays linked through a token in its localStorage.

Test-only control endpoints live under `/__test__/`; tests in the same process may call
the `Replica` methods directly.
"""

import base64
import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field, fields
from http.server import ThreadingHTTPServer
from typing import Any, Self

from tests.sessions_app.replica.handler import ReplicaHandler

DEFAULT_ACCOUNT_PHONE = "573000000001"


@dataclass
class ReplicaConfig:
    boot_seconds: float = 0.3
    qr_rotation_seconds: float = 20.0
    qr_rotations_before_idle: int = 5
    # Seconds after a send until the message shows each status; None: never.
    sent_after: float | None = 0.1
    delivered_after: float | None = 0.3
    read_after: float | None = 0.6
    account_phone: str = DEFAULT_ACCOUNT_PHONE
    # The app ignores Enter and the send button (a frozen page): nothing leaves the box.
    sending_blocked: bool = False
    # The phone's language, which WhatsApp Web speaks: "en" or "es".
    language: str = "en"
    # New chats are keyed by the contact's LID (`…@lid`) rather than its number.
    lid_chats: bool = False
    # wa-js's stream mode for linked devices: MAIN, SYNCING, OFFLINE, CONFLICT, TOS_BLOCK…
    stream_mode: str = "MAIN"
    # Accounts under the reach-out timelock: their messages to chats without history fail
    # (ack -1, error 463) and the compose bar of such a chat shows a notice.
    timelocked: tuple[str, ...] = ()
    # The number check gets no answer (wa-js's queryWidExists then resolves null).
    number_check_down: bool = False


@dataclass
class SentMessage:
    to: str
    text: str
    wa_id: str
    sent_at: float


@dataclass
class _Login:
    login_id: str
    seed: str
    started_at: float
    rotated_at: float
    token: str | None = None
    rotation: int = 0
    idle: bool = False


@dataclass
class _Message:
    wa_id: str
    from_me: bool
    text: str
    at: float
    failed: bool = False


@dataclass
class _Chat:
    phone: str
    jid: str
    unread: int = 0
    messages: list[_Message] = field(default_factory=list)


def _b64(seed: str, label: str) -> str:
    return base64.b64encode(hashlib.sha256(f"{seed}:{label}".encode()).digest()).decode()


def chat_title(phone: str) -> str:
    """How WhatsApp Web titles a chat with a number that is not a saved contact."""
    return f"+{phone[:2]} {phone[2:5]} {phone[5:]}"


def lid_chat_title(phone: str) -> str:
    """LID chats are titled by the contact's profile name, not its number."""
    return f"Cliente {phone[-4:]}"


TEXTS = {
    "en": {"invalid": "Phone number shared via url is invalid.", "send": "Send", "ok": "OK"},
    "es": {
        "invalid": "El número de teléfono compartido por URL no es válido.",
        "send": "Enviar",
        "ok": "Aceptar",
    },
}
ACK_OF_STATUS = {"pending": 0, "sent": 1, "delivered": 2, "read": 3, "failed": -1}


class Replica:
    def __init__(self, **config: Any) -> None:
        self.config = ReplicaConfig(**config)
        self.sent: list[SentMessage] = []
        self.unknown_numbers: set[str] = set()
        self.scans = 0
        self.lids: dict[str, str] = {}
        # Phones whose chat this device marked read (read receipts go to the contact).
        self.read_receipts: list[str] = []
        self.logout_reasons: dict[str, str] = {}
        self._pairing: dict[str, tuple[str, str]] = {}
        self._reported_acks: dict[str, dict[str, int]] = {}
        self._incoming: list[dict[str, Any]] = []
        self._incoming_seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._logins: dict[str, _Login] = {}
        self._devices: dict[str, str] = {}
        self._chats: dict[str, _Chat] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Server lifecycle

    def start(self) -> Self:
        replica = self

        class Handler(ReplicaHandler):
            pass

        Handler.replica = replica
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self._server is not None, "the replica is not running"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # Test controls

    def configure(self, **changes: Any) -> None:
        with self._lock:
            for name, value in changes.items():
                if name not in {f.name for f in fields(ReplicaConfig)}:
                    raise TypeError(f"unknown replica setting {name!r}")
                setattr(self.config, name, value)

    def current_qr(self) -> str | None:
        """The ref the newest waiting login screen shows, None when it is idle or absent."""
        with self._lock:
            waiting = [login for login in self._logins.values() if login.token is None]
            if not waiting:
                return None
            ref, idle = self._qr_of(max(waiting, key=lambda login: login.started_at))
            return None if idle else ref

    def qr_is_idle(self) -> bool:
        with self._lock:
            waiting = [login for login in self._logins.values() if login.token is None]
            return bool(waiting) and self._qr_of(max(waiting, key=lambda x: x.started_at))[1]

    def scan(self, ref: str, *, phone: str | None = None) -> bool:
        """A phone scans `ref`: only a QR currently shown (not rotated away, not idle) links."""
        with self._lock:
            for login in self._logins.values():
                current, idle = self._qr_of(login)
                if login.token is None and not idle and current == ref:
                    login.token = secrets.token_hex(16)
                    linked = phone or self.config.account_phone
                    self._devices[login.token] = linked.removeprefix("+")
                    self.scans += 1
                    return True
            return False

    def remote_logout(self, phone: str | None = None, *, reason: str = "") -> None:
        """The phone (or every phone) removes its linked devices; WhatsApp may say why."""
        with self._lock:
            for token, device_phone in list(self._devices.items()):
                if phone is None or device_phone == phone.removeprefix("+"):
                    del self._devices[token]
                    self.logout_reasons[token] = reason

    def linked_devices(self, phone: str) -> int:
        with self._lock:
            return sum(1 for linked in self._devices.values() if linked == phone.removeprefix("+"))

    def declare_unknown(self, phone: str) -> None:
        self.unknown_numbers.add(phone.removeprefix("+"))

    def lid_of(self, phone: str) -> str:
        """The contact's LID: WhatsApp's number-independent id for it."""
        phone = phone.removeprefix("+")
        with self._lock:
            return self._lid_of(phone)

    def _lid_of(self, phone: str) -> str:
        if phone not in self.lids:
            self.lids[phone] = f"{10**14 + secrets.randbelow(9 * 10**14)}@lid"
        return self.lids[phone]

    def _chat(self, phone: str, *, lid: bool | None = None) -> _Chat:
        if phone not in self._chats:
            keyed_by_lid = self.config.lid_chats if lid is None else lid
            jid = self._lid_of(phone) if keyed_by_lid else f"{phone}@c.us"
            self._chats[phone] = _Chat(phone=phone, jid=jid)
        return self._chats[phone]

    def receive(self, *, from_phone: str, text: str, lid: bool = False) -> str:
        """A contact writes to the account (from its LID when `lid`): an unread badge."""
        phone = from_phone.removeprefix("+")
        with self._lock:
            chat = self._chat(phone, lid=lid or None)
            sender = self._lid_of(phone) if lid else chat.jid
            wa_id = f"false_{sender}_3A{secrets.token_hex(9).upper()}"
            now = time.time()
            chat.messages.append(_Message(wa_id=wa_id, from_me=False, text=text, at=now))
            chat.unread += 1
            self._incoming.append({"id": wa_id, "from": sender, "body": text, "t": int(now)})
        return wa_id

    def pairing_code(self, login_id: str, phone: str) -> str:
        code = "".join(secrets.choice("ABCDEFGHJKLMNPQRSTVWXYZ0123456789") for _ in range(8))
        with self._lock:
            self._pairing[code] = (login_id, phone.removeprefix("+"))
        return code

    def enter_pairing_code(self, code: str) -> bool:
        """The phone's owner types the code shown by WhatsApp Web: the device links."""
        with self._lock:
            pairing = self._pairing.pop(code.replace("-", "").upper(), None)
            login = self._logins.get(pairing[0]) if pairing else None
            if pairing is None or login is None or login.token is not None:
                return False
            login.token = secrets.token_hex(16)
            self._devices[login.token] = pairing[1]
            return True

    def texts_sent_to(self, phone: str) -> list[str]:
        phone = phone.removeprefix("+")
        with self._lock:
            return [message.text for message in self.sent if message.to == phone]

    # What the app's API serves

    def _qr_of(self, login: _Login) -> tuple[str, bool]:
        # Rotations accumulate, so a test may change the period without rewriting history.
        period = self.config.qr_rotation_seconds
        steps = int((time.monotonic() - login.rotated_at) / period)
        if steps and not login.idle:
            login.rotation += steps
            login.rotated_at += steps * period
        # Once idle, a QR stays idle until the page asks for a new one.
        login.idle = login.idle or login.rotation >= self.config.qr_rotations_before_idle
        idle = login.idle
        rotation = min(login.rotation, self.config.qr_rotations_before_idle - 1)
        ref = f"2@{_b64(login.seed, f'ref{rotation}')[:40]}"
        return (
            ",".join((ref, _b64(login.seed, "public"), _b64(login.seed, "identity"), login.seed)),
            idle,
        )

    def _new_login(self) -> dict[str, Any]:
        login = _Login(
            login_id=secrets.token_hex(8),
            seed=base64.b64encode(secrets.token_bytes(32)).decode(),
            started_at=time.monotonic(),
            rotated_at=time.monotonic(),
        )
        with self._lock:
            self._logins[login.login_id] = login
        return {"login_id": login.login_id}

    def _login_status(self, login_id: str) -> dict[str, Any] | None:
        with self._lock:
            login = self._logins.get(login_id)
            if login is None:
                return None
            ref, idle = self._qr_of(login)
            phone = self._devices.get(login.token) if login.token else None
            return {"ref": ref, "idle": idle, "token": login.token, "phone": phone}

    def _reload_login(self, login_id: str) -> bool:
        with self._lock:
            login = self._logins.get(login_id)
            if login is None:
                return False
            login.seed = base64.b64encode(secrets.token_bytes(32)).decode()
            login.started_at = login.rotated_at = time.monotonic()
            login.rotation = 0
            login.idle = False
            return True

    def _phone_for(self, token: str) -> str | None:
        with self._lock:
            return self._devices.get(token)

    def _logout(self, token: str) -> None:
        with self._lock:
            self._devices.pop(token, None)

    def _status(self, message: _Message) -> str:
        if not message.from_me:
            return ""
        if message.failed:
            return "failed"
        elapsed = time.time() - message.at
        status = "pending"
        for name, after in (
            ("sent", self.config.sent_after),
            ("delivered", self.config.delivered_after),
            ("read", self.config.read_after),
        ):
            if after is None or elapsed < after:
                break
            status = name
        return status

    def _timelocked(self, token: str) -> bool:
        return self._devices.get(token) in self.config.timelocked

    def _chat_list(self, token: str) -> list[dict[str, Any]]:
        with self._lock:
            chats = sorted(
                self._chats.values(),
                key=lambda chat: chat.messages[-1].at if chat.messages else 0,
                reverse=True,
            )
            return [
                {
                    "phone": chat.phone,
                    "jid": chat.jid,
                    "title": (lid_chat_title if chat.jid.endswith("@lid") else chat_title)(
                        chat.phone
                    ),
                    "restricted": self._timelocked(token) and not chat.messages,
                    "unread": chat.unread,
                    "messages": [
                        {
                            "id": m.wa_id,
                            "from_me": m.from_me,
                            "text": m.text,
                            "status": self._status(m),
                        }
                        for m in chat.messages
                    ],
                }
                for chat in chats
            ]

    def _record_send(self, *, to: str, wa_id: str, text: str) -> None:
        now = time.time()
        with self._lock:
            self.sent.append(SentMessage(to=to, text=text, wa_id=wa_id, sent_at=now))
            chat = self._chat(to)
            chat.messages.append(_Message(wa_id=wa_id, from_me=True, text=text, at=now))

    def _open_chat(self, phone: str) -> bool:
        if phone in self.unknown_numbers or not phone.isdigit():
            return False
        with self._lock:
            self._chat(phone)
        return True

    def _mark_read(self, phone: str) -> None:
        with self._lock:
            if phone in self._chats:
                if self._chats[phone].unread:
                    self.read_receipts.append(phone)
                self._chats[phone].unread = 0

    # What WhatsApp's own modules see (the wa-js stand-in asks for these)

    def _wa_events(self, token: str) -> dict[str, Any]:
        """The device's stream mode, and the acks and messages it has not been told of."""
        with self._lock:
            if token not in self._devices:
                return {"mode": "QR", "logout_reason": self.logout_reasons.get(token, "")}
            reported = self._reported_acks.setdefault(token, {})
            acks = []
            for chat in self._chats.values():
                for message in chat.messages:
                    if message.from_me and message.wa_id in reported:
                        ack = ACK_OF_STATUS[self._status(message)]
                        if ack != reported[message.wa_id]:
                            reported[message.wa_id] = ack
                            acks.append({"id": message.wa_id, "ack": ack, "chat": chat.jid})
            seen = self._incoming_seen.get(token, len(self._incoming))
            incoming = self._incoming[seen:]
            self._incoming_seen[token] = len(self._incoming)
            return {
                "mode": self.config.stream_mode,
                "me": f"{self._devices[token]}@c.us",
                "acks": acks,
                "incoming": incoming,
            }

    def _wa_send(self, *, token: str, to: str, wa_id: str, text: str) -> int:
        """A message from wa-js: refused by the timelock in chats without history."""
        now = time.time()
        with self._lock:
            chat = self._chat(to)
            failed = self._timelocked(token) and not chat.messages
            chat.messages.append(
                _Message(wa_id=wa_id, from_me=True, text=text, at=now, failed=failed)
            )
            if not failed:
                self.sent.append(SentMessage(to=to, text=text, wa_id=wa_id, sent_at=now))
            self._reported_acks.setdefault(token, {})[wa_id] = 0
        return -1 if failed else 0

    def _wa_message(self, wa_id: str) -> dict[str, Any] | None:
        with self._lock:
            for chat in self._chats.values():
                for message in chat.messages:
                    if message.wa_id == wa_id:
                        status = self._status(message) or "sent"
                        return {"ack": ACK_OF_STATUS[status], "body": message.text}
        return None

    def _wa_exists(self, phone: str) -> dict[str, Any] | None:
        if self.config.number_check_down or phone in self.unknown_numbers:
            return None
        return {"wid": f"{phone}@c.us", "lid": self.lid_of(phone)}

    def _wa_phone_of_lid(self, lid: str) -> str | None:
        with self._lock:
            return next((phone for phone, known in self.lids.items() if known == lid), None)

    def _client_config(self) -> dict[str, Any]:
        return {
            "boot_ms": int(self.config.boot_seconds * 1000),
            "sending_blocked": self.config.sending_blocked,
            "texts": TEXTS[self.config.language],
        }
