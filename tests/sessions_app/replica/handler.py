"""The replica's HTTP side: the app's pages and API, wa-js's view of WhatsApp, test hooks."""

import json
from dataclasses import asdict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

if TYPE_CHECKING:
    from tests.sessions_app.replica.server import Replica

STATIC_DIR = Path(__file__).resolve().parent / "static"
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self';"
    " style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; object-src 'none';"
    " frame-ancestors 'none'"
)


class ReplicaHandler(BaseHTTPRequestHandler):
    replica: "Replica"
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the tests' output is what matters."""

    def _reply(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        if content_type.startswith("text/html"):
            # Like WhatsApp Web's: no inline script runs, only files from the site itself.
            self.send_header("Content-Security-Policy", CONTENT_SECURITY_POLICY)
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
            page = (STATIC_DIR / "app.html").read_bytes()
            self._reply(HTTPStatus.OK, page, "text/html; charset=utf-8")
        elif parts.path == "/config.js":
            config = f"window.REPLICA = {json.dumps(replica._client_config())};"
            self._reply(HTTPStatus.OK, config.encode(), "text/javascript; charset=utf-8")
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
                self._json({"chats": replica._chat_list(query.get("token", ""))})
        elif parts.path == "/api/wa/events":
            self._json(replica._wa_events(query.get("token", "")))
        elif parts.path == "/api/wa/message":
            found = replica._wa_message(query.get("id", ""))
            self._json({"found": found is not None, **(found or {})})
        elif parts.path == "/api/wa/pnlid":
            self._json({"phone": replica._wa_phone_of_lid(query.get("lid", ""))})
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
        elif path == "/api/wa/send":
            token = str(body.get("token", ""))
            if replica._phone_for(token) is None:
                self._json({"error": "logged out"}, HTTPStatus.UNAUTHORIZED)
                return
            to = str(body["to"])
            if body.get("markIsRead"):
                replica._mark_read(to)
            ack = replica._wa_send(
                token=token, to=to, wa_id=str(body["id"]), text=str(body["text"])
            )
            self._json({"ack": ack})
        elif path == "/api/wa/exists":
            self._json({"result": replica._wa_exists(str(body.get("phone", "")))})
        elif path == "/api/wa/pair":
            code = replica.pairing_code(str(body["login_id"]), str(body["phone"]))
            self._json({"code": code})
        elif path == "/api/wa/takeover":
            replica.configure(stream_mode="MAIN")
            self._json({"ok": True})
        elif path == "/__test__/pair":
            linked = replica.enter_pairing_code(str(body.get("code", "")))
            self._json({"linked": linked}, HTTPStatus.OK if linked else HTTPStatus.CONFLICT)
        elif path == "/api/read":
            replica._mark_read(str(body.get("phone", "")))
            self._json({"ok": True})
        elif path == "/__test__/scan":
            ref = str(body.get("ref") or replica.current_qr() or "")
            linked = replica.scan(ref, phone=body.get("phone"))
            self._json({"linked": linked}, HTTPStatus.OK if linked else HTTPStatus.CONFLICT)
        elif path == "/__test__/logout":
            replica.remote_logout(reason=str(body.get("reason", "")))
            self._json({"ok": True})
        elif path == "/__test__/incoming":
            wa_id = replica.receive(
                from_phone=str(body["from"]), text=str(body["text"]), lid=bool(body.get("lid"))
            )
            self._json({"id": wa_id})
        elif path == "/__test__/unknown":
            replica.declare_unknown(str(body["phone"]))
            self._json({"ok": True})
        elif path == "/__test__/config":
            replica.configure(**body)
            self._json(asdict(replica.config))
        else:
            self._json({"error": "not found"}, HTTPStatus.NOT_FOUND)
