import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.db import connection
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from tests.conftest import wait_until


@dataclass
class Received:
    webhook_id: str
    body: dict[str, Any]
    host: str = ""
    path: str = ""


@dataclass
class Receiver:
    """A local HTTP receiver that verifies every request's signature like an integrator.

    `answers` is a list of what to do with the next requests: an HTTP status, or "timeout"
    (sleep past the sender's timeout); once it is empty every request gets a 204.
    """

    url: str = ""
    secret: str = ""
    answers: list[int | str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    tries: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def events(self) -> list[tuple[str, dict[str, Any]]]:
        """(webhook-id, event) of every event taken, batches unpacked."""
        with self.lock:
            out: list[tuple[str, dict[str, Any]]] = []
            for item in self.received:
                if item.body["type"] == "batch":
                    out.extend((item.webhook_id, event) for event in item.body["data"]["events"])
                else:
                    out.append((item.webhook_id, item.body))
            return out


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            with state.lock:
                answer = state.answers.pop(0) if state.answers else 204
                state.tries.append(self.headers["webhook-id"])
            if answer == "timeout":
                # The sender has given up by the time this answers: it is not received.
                time.sleep(1.5)
                answer = 504
            try:
                payload = Webhook(state.secret).verify(body, dict(self.headers))
            except WebhookVerificationError:
                with state.lock:
                    state.bad_signatures += 1
                answer = 400
            else:
                if answer == 204:
                    with state.lock:
                        state.received.append(
                            Received(
                                self.headers["webhook-id"], payload, self.headers["Host"], self.path
                            )
                        )
            self.send_response(int(answer))
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


class InOtherConnection(threading.Thread):
    """Runs `work` on a database connection of its own; `pid` is that backend's."""

    def __init__(self, work):
        super().__init__(daemon=True)
        self.work = work
        self.pid: int | None = None
        self.started_work = threading.Event()
        self.error: BaseException | None = None

    def run(self):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                self.pid = cursor.fetchone()[0]
            self.started_work.set()
            self.work()
        except BaseException as exc:  # noqa: BLE001 - the test reads it
            self.error = exc
        finally:
            self.started_work.set()
            connection.close()

    def wait_blocked(self):
        """Until the lock manager says this connection waits for another's lock."""
        self.started_work.wait(timeout=30)

        def blocked():
            with connection.cursor() as cursor:
                cursor.execute("SELECT cardinality(pg_blocking_pids(%s)) > 0", [self.pid])
                return cursor.fetchone()[0]

        wait_until(blocked, timeout=30, message="the other connection never waited for a lock")

    def finish(self):
        self.join(timeout=30)
        assert not self.is_alive()
        if self.error is not None:
            raise self.error
