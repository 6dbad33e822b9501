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
import json
import secrets
import threading
import time
from dataclasses import asdict, dataclass, field, fields
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit

STATIC_DIR = Path(__file__).resolve().parent / "static"
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


@dataclass
class _Chat:
    phone: str
    unread: int = 0
    messages: list[_Message] = field(default_factory=list)


def _b64(seed: str, label: str) -> str:
    return base64.b64encode(hashlib.sha256(f"{seed}:{label}".encode()).digest()).decode()


def chat_title(phone: str) -> str:
    """How WhatsApp Web titles a chat with a number that is not a saved contact."""
    return f"+{phone[:2]} {phone[2:5]} {phone[5:]}"


class Replica:
    def __init__(self, **config: Any) -> None:
        self.config = ReplicaConfig(**config)
        self.sent: list[SentMessage] = []
        self.unknown_numbers: set[str] = set()
        self.scans = 0
        self._lock = threading.Lock()
        self._logins: dict[str, _Login] = {}
        self._devices: dict[str, str] = {}
        self._chats: dict[str, _Chat] = {}
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # Server lifecycle

    def start(self) -> Self:
        replica = self

        class Handler(_Handler):
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

    def remote_logout(self, phone: str | None = None) -> None:
        """The phone (or every phone) removes its linked devices."""
        with self._lock:
            for token, device_phone in list(self._devices.items()):
                if phone is None or device_phone == phone.removeprefix("+"):
                    del self._devices[token]

    def linked_devices(self, phone: str) -> int:
        with self._lock:
            return sum(1 for linked in self._devices.values() if linked == phone.removeprefix("+"))

    def declare_unknown(self, phone: str) -> None:
        self.unknown_numbers.add(phone.removeprefix("+"))

    def receive(self, *, from_phone: str, text: str) -> str:
        """A contact writes to the account: the chat gets an unread badge."""
        phone = from_phone.removeprefix("+")
        wa_id = f"false_{phone}@c.us_3A{secrets.token_hex(9).upper()}"
        with self._lock:
            chat = self._chats.setdefault(phone, _Chat(phone=phone))
            chat.messages.append(_Message(wa_id=wa_id, from_me=False, text=text, at=time.time()))
            chat.unread += 1
        return wa_id

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

    def _chat_list(self) -> list[dict[str, Any]]:
        with self._lock:
            chats = sorted(
                self._chats.values(),
                key=lambda chat: chat.messages[-1].at if chat.messages else 0,
                reverse=True,
            )
            return [
                {
                    "phone": chat.phone,
                    "title": chat_title(chat.phone),
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
            chat = self._chats.setdefault(to, _Chat(phone=to))
            chat.messages.append(_Message(wa_id=wa_id, from_me=True, text=text, at=now))

    def _open_chat(self, phone: str) -> bool:
        if phone in self.unknown_numbers or not phone.isdigit():
            return False
        with self._lock:
            self._chats.setdefault(phone, _Chat(phone=phone))
        return True

    def _mark_read(self, phone: str) -> None:
        with self._lock:
            if phone in self._chats:
                self._chats[phone].unread = 0

    def _client_config(self) -> dict[str, Any]:
        return {
            "boot_ms": int(self.config.boot_seconds * 1000),
            "sending_blocked": self.config.sending_blocked,
        }


class _Handler(BaseHTTPRequestHandler):
    replica: Replica
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests' output is what matters."""

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _json(self, payload: object, status: int = HTTPStatus.OK) -> None:
        self._reply(status, json.dumps(payload).encode(), "application/json")

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length) or b"{}") if length else {}
        return data if isinstance(data, dict) else {}

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(parts.query).items()}
        replica = self.replica
        if parts.path in ("/", "/send"):
            page = (STATIC_DIR / "app.html").read_text(encoding="utf-8")
            page = page.replace("__CONFIG__", json.dumps(replica._client_config()))
            self._reply(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")
        elif parts.path == "/app.js":
            script = (STATIC_DIR / "app.js").read_bytes()
            self._reply(HTTPStatus.OK, script, "text/javascript; charset=utf-8")
        elif parts.path.startswith("/api/login/"):
            status = replica._login_status(parts.path.removeprefix("/api/login/"))
            self._json(status or {}, HTTPStatus.OK if status else HTTPStatus.NOT_FOUND)
        elif parts.path == "/api/whoami":
            phone = replica._phone_for(query.get("token", ""))
            self._json({"linked": phone is not None, "phone": phone})
        elif parts.path == "/api/chats":
            if replica._phone_for(query.get("token", "")) is None:
                self._json({"error": "logged out"}, HTTPStatus.UNAUTHORIZED)
            else:
                self._json({"chats": replica._chat_list()})
        elif parts.path == "/__test__/sent":
            self._json([asdict(message) for message in replica.sent])
        else:
            self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        body = self._body()
        replica = self.replica
        if path == "/api/login":
            self._json(replica._new_login())
        elif path.startswith("/api/login/") and path.endswith("/reload"):
            ok = replica._reload_login(path.removeprefix("/api/login/").removesuffix("/reload"))
            self._json({"ok": ok}, HTTPStatus.OK if ok else HTTPStatus.NOT_FOUND)
        elif path == "/api/logout":
            replica._logout(str(body.get("token", "")))
            self._json({"ok": True})
        elif path == "/api/open":
            if replica._phone_for(str(body.get("token", ""))) is None:
                self._json({"error": "logged out"}, HTTPStatus.UNAUTHORIZED)
            else:
                self._json({"exists": replica._open_chat(str(body.get("phone", "")))})
        elif path == "/api/send":
            if replica._phone_for(str(body.get("token", ""))) is None:
                self._json({"error": "logged out"}, HTTPStatus.UNAUTHORIZED)
            else:
                replica._record_send(
                    to=str(body["to"]), wa_id=str(body["id"]), text=str(body["text"])
                )
                self._json({"ok": True})
        elif path == "/api/read":
            replica._mark_read(str(body.get("phone", "")))
            self._json({"ok": True})
        elif path == "/__test__/scan":
            ref = str(body.get("ref") or replica.current_qr() or "")
            linked = replica.scan(ref, phone=body.get("phone"))
            self._json({"linked": linked}, HTTPStatus.OK if linked else HTTPStatus.CONFLICT)
        elif path == "/__test__/logout":
            replica.remote_logout()
            self._json({"ok": True})
        elif path == "/__test__/incoming":
            wa_id = replica.receive(from_phone=str(body["from"]), text=str(body["text"]))
            self._json({"id": wa_id})
        elif path == "/__test__/unknown":
            replica.declare_unknown(str(body["phone"]))
            self._json({"ok": True})
        elif path == "/__test__/config":
            replica.configure(**body)
            self._json(asdict(replica.config))
        else:
            self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)
