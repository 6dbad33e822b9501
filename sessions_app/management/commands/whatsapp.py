"""`manage.py whatsapp NAME login|send|status|doctor|canary|logout`: one account from a terminal.

The commands use the same driver and profile directory as the session host, so they refuse
to run while a host holds the account (two browsers cannot share one profile).
"""

import io
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import qrcode
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from debtors.imports.values import CellError, parse_phone
from sessions_app.drivers import get_driver, profile_dir_for
from sessions_app.drivers.base import (
    AckStatus,
    DriverState,
    NotOnWhatsApp,
    PairingUnavailable,
    SendError,
    WhatsAppDriver,
)
from sessions_app.models import SessionStatus, WhatsAppSession
from sessions_app.selectors import session_is_held
from sessions_app.services import session_forget_profile

EXIT_ERROR = 1
EXIT_NOT_ON_WHATSAPP = 3
POLL_SECONDS = 0.5


class Command(BaseCommand):
    help = (
        "Link, test and inspect one WhatsApp account: login, send, status, doctor, canary, logout."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="the WhatsApp account's name")
        actions = parser.add_subparsers(dest="action", required=True)
        login = actions.add_parser("login", help="show the QR in the terminal until linked")
        login.add_argument(
            "--timeout", type=float, default=300, help="seconds to wait for the scan"
        )
        login.add_argument(
            "--phone", help="link by this number with a pairing code instead of the QR code"
        )
        send = actions.add_parser("send", help="send one message (exit 0 sent, 3 not on WA)")
        send.add_argument("--to", required=True, help="phone number (E.164 or local)")
        send.add_argument("--text", required=True, help="message text")
        actions.add_parser("status", help="the account's recorded and live state")
        actions.add_parser(
            "doctor", help="wa-js readiness, stream mode, own id, and which selectors match"
        )
        canary = actions.add_parser(
            "canary", help="live smoke check: ready, state, own id, number check, send, ack"
        )
        canary.add_argument("--to", required=True, help="a phone that expects the test message")
        canary.add_argument("--text", default="WhatsMassive canary", help="message text")
        actions.add_parser("logout", help="unlink the device and delete the browser profile")

    def handle(self, *args: Any, **options: Any) -> None:
        name: str = options["name"]
        action: str = options["action"]
        if action == "login":
            session, _created = WhatsAppSession.objects.get_or_create(name=name)
        else:
            session = self._get_session(name)
        if session_is_held(session=session):
            raise CommandError(
                f"{name} is held by the session host on {session.host} (heartbeat at "
                f"{session.heartbeat_at:%Y-%m-%d %H:%M:%S %Z}); stop it before using the CLI.",
                returncode=EXIT_ERROR,
            )
        handlers: dict[str, Callable[..., None]] = {
            "login": self._login,
            "send": self._send,
            "status": self._status,
            "doctor": self._doctor,
            "canary": self._canary,
            "logout": self._logout,
        }
        handlers[action](session, **options)

    def _get_session(self, name: str) -> WhatsAppSession:
        try:
            return WhatsAppSession.objects.get(name=name)
        except WhatsAppSession.DoesNotExist:
            raise CommandError(
                f"No WhatsApp account named {name!r}; `whatsapp {name} login` creates it.",
                returncode=EXIT_ERROR,
            ) from None

    @contextmanager
    def _driver(self, session: WhatsAppSession) -> Iterator[WhatsAppDriver]:
        profile_dir = profile_dir_for(session_id=session.pk)
        if session.profile_dir != str(profile_dir):
            WhatsAppSession.objects.filter(pk=session.pk).update(profile_dir=str(profile_dir))
        driver = get_driver(profile_dir=profile_dir)
        try:
            driver.start()
            yield driver
        finally:
            driver.close()

    def _settled_state(self, driver: WhatsAppDriver) -> DriverState:
        deadline = time.monotonic() + float(settings.WHATSAPP_PAGE_TIMEOUT)
        state = driver.state()
        while state == DriverState.STARTING and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            state = driver.state()
        return state

    def _login(
        self, session: WhatsAppSession, *, timeout: float, phone: str | None, **_options: Any
    ) -> None:
        phone_e164 = self._phone(phone) if phone else None
        with self._driver(session) as driver:
            deadline = time.monotonic() + timeout
            shown: str | None = None
            while (state := driver.state()) != DriverState.CONNECTED:
                if state == DriverState.BANNED:
                    raise CommandError("WhatsApp refuses this account (banned).")
                if phone_e164 and state == DriverState.WAITING_QR and shown is None:
                    shown = self._print_pairing_code(driver, phone_e164)
                elif not phone_e164 and state in (DriverState.WAITING_QR, DriverState.LOGGED_OUT):
                    payload = driver.qr_payload()
                    if payload and payload != shown:
                        shown = payload
                        self._print_qr(payload)
                        WhatsAppSession.objects.filter(pk=session.pk).update(
                            status=SessionStatus.WAITING_QR,
                            qr_payload=payload,
                            qr_updated_at=timezone.now(),
                        )
                if time.monotonic() > deadline:
                    raise CommandError(f"Not linked within {timeout:g} s (state: {state}).")
                time.sleep(POLL_SECONDS)
            phone = driver.account_phone() or session.phone_e164
            WhatsAppSession.objects.filter(pk=session.pk).update(
                status=SessionStatus.CONNECTED,
                status_detail="",
                phone_e164=phone,
                qr_payload="",
                qr_updated_at=None,
                connected_at=timezone.now(),
            )
        self.stdout.write(f"linked {session.name}" + (f" {phone}" if phone else ""))

    def _print_pairing_code(self, driver: WhatsAppDriver, phone_e164: str) -> str:
        try:
            code = driver.pairing_code(phone_e164=phone_e164)
        except PairingUnavailable as exc:
            raise CommandError(f"No pairing code: {exc}", returncode=EXIT_ERROR) from exc
        self.stdout.write(f"pairing code {code[:4]}-{code[4:]}")
        self.stdout.write(
            f"On the phone with {phone_e164}: WhatsApp > Linked devices > Link a device > "
            "Link with phone number instead, then type the code"
        )
        self.stdout.flush()
        return code

    def _phone(self, value: str) -> str:
        try:
            return parse_phone(value, region=settings.DEFAULT_PHONE_REGION)
        except CellError as exc:
            self.stdout.write("error invalid phone number")
            raise CommandError(
                f"{value!r} is not a valid phone number", returncode=EXIT_ERROR
            ) from exc

    def _print_qr(self, payload: str) -> None:
        code = qrcode.QRCode(border=2)
        code.add_data(payload)
        code.make(fit=True)
        drawing = io.StringIO()
        code.print_ascii(out=drawing, invert=True)
        self.stdout.write(
            "Scan with WhatsApp on the phone: Settings > Linked devices > Link a device "
            "(a new code follows when this one expires)"
        )
        self.stdout.write(drawing.getvalue())
        self.stdout.flush()

    def _send(self, session: WhatsAppSession, *, to: str, text: str, **_options: Any) -> None:
        phone = self._phone(to)
        with self._driver(session) as driver:
            state = self._settled_state(driver)
            if state != DriverState.CONNECTED:
                self.stdout.write(f"error not connected ({state})")
                raise CommandError(
                    f"{session.name} is not connected ({state}); run `login` first.",
                    returncode=EXIT_ERROR,
                )
            try:
                result = driver.send_text(phone_e164=phone, text=text)
            except NotOnWhatsApp:
                self.stdout.write("not_on_whatsapp")
                raise CommandError(
                    f"{phone} is not on WhatsApp", returncode=EXIT_NOT_ON_WHATSAPP
                ) from None
            except SendError as exc:
                self.stdout.write(f"error {exc.reason}")
                raise CommandError(f"not sent: {exc.reason}", returncode=EXIT_ERROR) from None
        self.stdout.write(f"sent {result.wa_message_id}")

    def _status(self, session: WhatsAppSession, **_options: Any) -> None:
        self.stdout.write(f"account: {session.name}")
        self.stdout.write(f"status: {session.status}")
        self.stdout.write(f"phone: {session.phone_e164 or '-'}")
        self.stdout.write(f"host: {session.host or '-'}")
        with self._driver(session) as driver:
            state = self._settled_state(driver)
            self.stdout.write(f"live: {state}")
            if state == DriverState.CONNECTED and (phone := driver.account_phone()):
                self.stdout.write(f"live phone: {phone}")

    def _doctor(self, session: WhatsAppSession, **_options: Any) -> None:
        with self._driver(session) as driver:
            state = self._settled_state(driver)
            self.stdout.write(f"state: {state}")
            self.stdout.write(
                f"strategy: {driver.strategy}"
                + (f" ({driver.strategy_detail})" if driver.strategy_detail else "")
            )
            report: Callable[[], dict[str, Any]] | None = getattr(driver, "wajs_report", None)
            if report is not None:
                self._print_wajs(report())
            doctor: Callable[[], list[Any]] | None = getattr(driver, "doctor", None)
            if doctor is None:
                self.stdout.write(f"the {type(driver).__name__} driver has no selectors to check")
                return
            checks = doctor()
        groups: dict[str, bool] = {}
        for check in checks:
            label = "ok" if check.matches > 0 else "invalid" if check.matches < 0 else "missing"
            self.stdout.write(f"{label:8} {check.name}: {check.selector} ({max(check.matches, 0)})")
            groups[check.name] = groups.get(check.name, False) or check.matches > 0
        matched = sum(groups.values())
        self.stdout.write(
            f"{matched} of {len(groups)} selector groups match this {state} page "
            "(login, chat and dialog selectors only match on their own screens)"
        )

    def _print_wajs(self, report: dict[str, Any]) -> None:
        migration = report.get("migration") or {}
        lid_state = (
            "unknown"
            if "isLidMigrated" not in migration
            else "migrated"
            if migration["isLidMigrated"]
            else "not migrated"
        )
        self.stdout.write(
            f"wa-js: {report.get('version') or 'missing'}"
            f" ({'ready' if report.get('ready') else 'not ready'})"
        )
        self.stdout.write(f"stream mode: {report.get('mode') or '-'} ({report.get('info') or '-'})")
        self.stdout.write(f"own id: {report.get('me') or '-'}")
        self.stdout.write(f"LID migration: {lid_state}")

    def _canary(self, session: WhatsAppSession, *, to: str, text: str, **_options: Any) -> None:
        """The live smoke check, one line per step; stops at the first that fails."""
        phone = self._phone(to)
        with self._driver(session) as driver:
            state = self._settled_state(driver)
            self._step("ready", state != DriverState.STARTING, driver.strategy)
            self._step("state", state == DriverState.CONNECTED, str(state))
            own = driver.account_phone()
            self._step("own id", bool(own), own or "unknown")
            try:
                check = driver.check_number(phone_e164=phone)
            except SendError as exc:
                raise self._failed("number check", exc.reason) from exc
            found = "not asked (DOM strategy)" if check is None else f"on WhatsApp {check.lid}"
            self._step("number check", check is None or check.on_whatsapp, found)
            try:
                prepared = driver.prepare_send(phone_e164=phone)
                result = driver.send_text(phone_e164=phone, text=text, message_id=prepared)
            except SendError as exc:
                raise self._failed("send", exc.reason) from exc
            self._step("send", True, result.wa_message_id)
            self._step("ack", self._acked(driver, result.wa_message_id), result.wa_message_id)

    def _acked(self, driver: WhatsAppDriver, wa_message_id: str) -> bool:
        deadline = time.monotonic() + float(settings.WHATSAPP_SEND_TIMEOUT)
        while time.monotonic() < deadline:
            if any(
                ack.wa_message_id == wa_message_id and ack.status != AckStatus.SENT
                for ack in driver.poll_acks()
            ):
                return True
            time.sleep(POLL_SECONDS)
        return False

    def _step(self, name: str, ok: bool, detail: str) -> None:
        if not ok:
            raise self._failed(name, detail)
        self.stdout.write(f"ok   {name}: {detail}")
        self.stdout.flush()

    def _failed(self, name: str, detail: str) -> CommandError:
        self.stdout.write(f"FAIL {name}: {detail}")
        return CommandError(f"canary failed at {name}: {detail}", returncode=EXIT_ERROR)

    def _logout(self, session: WhatsAppSession, **_options: Any) -> None:
        with self._driver(session) as driver:
            if self._settled_state(driver) == DriverState.CONNECTED:
                driver.logout()
            profile_dir = driver.profile_dir
        session.profile_dir = str(profile_dir)
        session_forget_profile(session=session)
        self.stdout.write(f"logged out {session.name}; profile {profile_dir} deleted")
