"""deploy/nginx.conf in front of daphne: Debian's real nginx, with a throwaway certificate.

Bodies are bounded by nginx before daphne (which holds a whole body in memory) sees a
byte of them, and the app still works through the proxy: login, a page, a WebSocket.
"""

import base64
import os
import re
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import psutil
import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from tests.conftest import BASE_DIR, current_database_url, wait_until
from tests.factories import UserFactory, WhatsAppSessionFactory
from whatsmassive import realtime

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not Path("/usr/sbin/nginx").exists(), reason="needs Debian's nginx"),
]

NGINX = "/usr/sbin/nginx"
PASSWORD = "correct horse battery staple"
MB = 1024 * 1024


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepts(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def site_config(*, https_port: int, http_port: int, daphne_port: int, tmp: Path) -> str:
    """deploy/nginx.conf with its CHANGE lines pointed at this test's ports and files."""
    site = (BASE_DIR / "deploy" / "nginx.conf").read_text()
    replacements = {
        "server unix:/run/whatsmassive/daphne.sock;": f"server 127.0.0.1:{daphne_port};",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "listen [::]:80;": "",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen [::]:443 ssl http2;": "",
        "/etc/ssl/certs/whatsmassive.pem": str(tmp / "cert.pem"),
        "/etc/ssl/private/whatsmassive.key": str(tmp / "key.pem"),
        "/etc/nginx/whatsmassive_proxy.conf": str(BASE_DIR / "deploy" / "proxy.conf"),
        "/srv/whatsmassive/staticfiles/": f"{BASE_DIR / 'static'}/",
    }
    for old, new in replacements.items():
        assert old in site, old
        site = site.replace(old, new)
    return site


@dataclass
class Proxy:
    port: int
    daphne: psutil.Process

    def connect(self) -> ssl.SSLSocket:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        return context.wrap_socket(raw, server_hostname="127.0.0.1")

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"


@pytest.fixture
def proxy(tmp_path) -> Iterator[Proxy]:
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            str(tmp_path / "key.pem"),
            "-out",
            str(tmp_path / "cert.pem"),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    https_port, http_port, daphne_port = _free_port(), _free_port(), _free_port()
    (tmp_path / "site.conf").write_text(
        site_config(
            https_port=https_port, http_port=http_port, daphne_port=daphne_port, tmp=tmp_path
        )
    )
    temp = {name: tmp_path / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    (tmp_path / "nginx.conf").write_text(
        ("user root;\n" if os.geteuid() == 0 else "")
        + f"worker_processes 1;\npid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\n"
        "events { worker_connections 64; }\n"
        "http {\n  access_log off;\n  include /etc/nginx/mime.types;\n"
        + "".join(
            f"  {name}_temp_path {path};\n"
            if name != "body"
            else f"  client_body_temp_path {path};\n"
            for name, path in temp.items()
        )
        + f"  include {tmp_path}/site.conf;\n}}\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": current_database_url(),
        "DB_CONN_MAX_AGE": "0",
        "BEHIND_TLS_PROXY": "1",
        "TRUSTED_PROXY_COUNT": "1",
        "CSRF_TRUSTED_ORIGINS": f"https://127.0.0.1:{https_port}",
    }
    daphne = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(daphne_port),
            "whatsmassive.asgi:application",
        ],
        cwd=BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
    )
    nginx = subprocess.Popen(
        [NGINX, "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf"), "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: _accepts(daphne_port), timeout=60, message="daphne did not start")
        wait_until(
            lambda: _accepts(https_port) or nginx.poll() is not None,
            timeout=30,
            message="nginx did not start",
        )
        assert nginx.poll() is None, nginx.stderr.read().decode() if nginx.stderr else ""
        yield Proxy(https_port, psutil.Process(daphne.pid))
    finally:
        for process in (nginx, daphne):
            process.terminate()
        for process in (nginx, daphne):
            process.wait(timeout=30)


@dataclass
class Response:
    status: int
    headers: dict[str, list[str]]
    body: bytes

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), [""])[0]


def _read_response(sock: ssl.SSLSocket) -> Response:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.setdefault(name.strip().lower(), []).append(value.strip())
    length = int(headers.get("content-length", ["0"])[0])
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Response(int(lines[0].split()[1]), headers, body)


def request(
    proxy: Proxy,
    method: str,
    path: str,
    *,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
) -> Response:
    with proxy.connect() as sock:
        lines = [
            f"{method} {path} HTTP/1.1",
            f"Host: 127.0.0.1:{proxy.port}",
            "Connection: close",
            f"Content-Length: {len(body)}",
        ]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        return _read_response(sock)


def _post_huge(proxy: Proxy, path: str, *, size: int, chunked: bool) -> int:
    """Send a `size`-byte form body (with Content-Length, or chunked without it) for as long
    as the proxy takes it; return the status it answers."""
    with proxy.connect() as sock:
        framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {size}"
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{proxy.port}\r\nConnection: close\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n{framing}\r\n\r\n".encode()
        )
        piece = b"a" * MB
        try:
            for _ in range(size // MB):
                sock.sendall(b"%x\r\n%b\r\n" % (len(piece), piece) if chunked else piece)
        except (BrokenPipeError, ConnectionResetError, ssl.SSLError):
            pass  # the proxy answered and stopped reading: what we want
        return _read_response(sock).status


def _rss(process: psutil.Process) -> int:
    return sum(p.memory_info().rss for p in [process, *process.children(recursive=True)])


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
@pytest.mark.parametrize("path", ["/accounts/login/", "/debtors/imports/new/"])
def test_an_anonymous_60_mb_post_is_refused_before_daphne_reads_it(proxy, path, chunked):
    assert request(proxy, "GET", "/accounts/login/").status == 200  # daphne warmed up
    before = _rss(proxy.daphne)

    assert _post_huge(proxy, path, size=60 * MB, chunked=chunked) == 413

    assert request(proxy, "GET", "/accounts/login/").status == 200
    assert _rss(proxy.daphne) - before < 20 * MB


def _cookies(response: Response) -> dict[str, str]:
    found = {}
    for header in response.headers.get("set-cookie", []):
        name, _, rest = header.partition("=")
        found[name] = rest.split(";", 1)[0]
    return found


def _log_in(proxy: Proxy) -> dict[str, str]:
    user = UserFactory(is_staff=True, is_superuser=True, password=PASSWORD)
    page = request(proxy, "GET", "/accounts/login/")
    cookies = _cookies(page)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
    assert token
    form = urlencode(
        {
            "username": user.username,
            "password": PASSWORD,
            "csrfmiddlewaretoken": token.group(1).decode(),
        }
    ).encode()
    answer = request(
        proxy,
        "POST",
        "/accounts/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={cookies['csrftoken']}",
            "Origin": proxy.origin,
            "Referer": f"{proxy.origin}/accounts/login/",
        },
    )
    assert answer.status == 302, answer.body[:500]
    return {**cookies, **_cookies(answer)}


def _websocket(proxy: Proxy, path: str, cookie: str) -> ssl.SSLSocket:
    sock = proxy.connect()
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{proxy.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: {proxy.origin}\r\nCookie: {cookie}\r\n\r\n".encode()
    )
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    assert data.startswith(b"HTTP/1.1 101"), data
    return sock


def _text_frame(sock: ssl.SSLSocket) -> str:
    def exactly(count: int) -> bytes:
        data = b""
        while len(data) < count:
            data += sock.recv(count - len(data))
        return data

    first, second = exactly(2)
    assert first == 0x81  # final text frame
    length = second & 0x7F
    if length == 126:
        length = int.from_bytes(exactly(2))
    elif length == 127:
        length = int.from_bytes(exactly(8))
    return exactly(length).decode()


def test_login_a_page_static_files_and_a_socket_work_through_the_proxy(proxy):
    cookies = _log_in(proxy)
    cookie = f"sessionid={cookies['sessionid']}"
    page = request(proxy, "GET", "/sessions/", headers={"Cookie": cookie})
    assert page.status == 200
    assert b"WhatsApp accounts" in page.body
    assert "script-src" in page.header("Content-Security-Policy")

    static = request(proxy, "GET", "/static/css/app.css")
    assert static.status == 200
    assert "immutable" in static.header("Cache-Control")

    account = WhatsAppSessionFactory()
    with _websocket(proxy, f"/ws/sessions/{account.pk}/", cookie) as sock:
        fragment = f'<div id="session-{account.pk}-live">linked</div>'

        def delivered() -> bool:
            async_to_sync(get_channel_layer().group_send)(
                realtime.session_group(account.pk), {"type": "fragment", "html": fragment}
            )
            return True

        wait_until(delivered, timeout=5)
        assert _text_frame(sock) == fragment


def test_plain_http_is_sent_to_https(proxy, tmp_path):
    site = (tmp_path / "site.conf").read_text()
    port = int(re.search(r"listen 127\.0\.0\.1:(\d+);", site).group(1))
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            b"GET /debtors/ HTTP/1.1\r\nHost: whatsmassive.example.com\r\nConnection: close\r\n\r\n"
        )
        answer = sock.recv(4096).decode()
    assert answer.startswith("HTTP/1.1 301")
    assert "Location: https://whatsmassive.example.com/debtors/" in answer
