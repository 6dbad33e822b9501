"""The session host: the long-lived loop that holds one account's WhatsApp client.

It runs as a task on the `browser` queue (threads pool, one thread per account): starts the
driver on the account's profile, publishes QR changes and state, heartbeats, runs the
account's send loop for the engine, polls acks and replies, and stops cleanly when the
operator disconnects, the account drops out, or the worker shuts down.
"""

import logging
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import close_old_connections

from campaigns.engine import (
    Pacer,
    engine_send_next,
    messages_apply_acks,
    messages_apply_incoming,
)
from campaigns.engine.doubt import messages_settle_unknown
from campaigns.sweep import messages_mark_orphans_unknown, messages_release_expired_claims
from sessions_app.drivers import get_driver
from sessions_app.drivers.base import DriverState, PairingUnavailable, WhatsAppDriver
from sessions_app.models import WhatsAppSession
from sessions_app.services import (
    DROPPED_OUT,
    session_host_acquire,
    session_host_heartbeat,
    session_host_release,
    session_record_state,
)
from sessions_app.services.requests import (
    session_host_requests,
    session_record_pairing_code,
    session_record_strategy,
    session_takeover_done,
)

logger = logging.getLogger(__name__)

# Set when the worker is shutting down: every host in the process leaves its loop.
shutting_down = threading.Event()

QR_POLL_SECONDS = 1.0
NOT_READY_POLL_SECONDS = 1.0
# Operator requests (log out, Use here, pairing code) are looked for once a second, not
# before every send: at full speed that query would cost as much as sending.
REQUESTS_POLL_SECONDS = 1.0
# Still linked, so acks and replies keep coming while sends wait.
RECEIVING_STATES = {DriverState.CONNECTED, DriverState.RESTRICTED}


@dataclass
class _Clock:
    heartbeat_due: float = 0.0
    poll_due: float = 0.0
    requests_due: float = 0.0


class SessionHost:
    def __init__(self, session: WhatsAppSession, token: str, driver: WhatsAppDriver) -> None:
        self.session = session
        self.token = token
        self.driver = driver
        self.pacer = Pacer.load(session)
        self.last_state: DriverState | None = None
        self.last_qr: str | None = None
        self.logged_out = False
        self.doubts_settled = False

    def run(self) -> None:
        clock = _Clock()
        while not shutting_down.is_set():
            now = time.monotonic()
            if now >= clock.heartbeat_due:
                if not session_host_heartbeat(session=self.session, token=self.token):
                    break
                clock.heartbeat_due = now + settings.HOST_HEARTBEAT_SECONDS
            if now >= clock.requests_due:
                requests = session_host_requests(session=self.session)
                if requests.logout:
                    self.driver.logout()
                    self.logged_out = True
                    break
                if requests.takeover:
                    self.take_over()
                if requests.pairing_phone:
                    self.pair(requests.pairing_phone)
                clock.requests_due = now + REQUESTS_POLL_SECONDS
            wait = self.step(clock, now)
            if self.session.status in DROPPED_OUT:
                break
            shutting_down.wait(max(0.0, min(wait, clock.heartbeat_due - time.monotonic())))

    def take_over(self) -> None:
        logger.info("Taking %s back from its other window", self.session.name)
        self.driver.take_over()
        session_takeover_done(session=self.session, token=self.token)

    def pair(self, phone_e164: str) -> None:
        try:
            code = self.driver.pairing_code(phone_e164=phone_e164)
        except PairingUnavailable as exc:
            session_record_pairing_code(session=self.session, token=self.token, error=str(exc))
            return
        session_record_pairing_code(session=self.session, token=self.token, code=code)

    def record(self, state: DriverState, qr: str | None) -> None:
        driver = self.driver
        session_record_state(
            session=self.session,
            token=self.token,
            state=state,
            qr_payload=qr,
            restriction=driver.restriction() if state == DriverState.RESTRICTED else None,
            logout_reason=driver.logout_reason() if state == DriverState.LOGGED_OUT else "",
            account_phone=driver.account_phone() if state == DriverState.CONNECTED else None,
        )
        if state == DriverState.CONFLICT and settings.WHATSAPP_TAKEOVER_ON_CONFLICT:
            self.take_over()

    def step(self, clock: _Clock, now: float) -> float:
        state = self.driver.state()
        qr = self.driver.qr_payload() if state == DriverState.WAITING_QR else None
        if state != self.last_state or qr != self.last_qr:
            self.record(state, qr)
            self.last_state, self.last_qr = state, qr
        if state == DriverState.WAITING_QR:
            return QR_POLL_SECONDS
        if state in RECEIVING_STATES and now >= clock.poll_due:
            self.poll()
            clock.poll_due = now + settings.HOST_POLL_SECONDS
        if state != DriverState.CONNECTED:
            return NOT_READY_POLL_SECONDS
        if not self.doubts_settled:
            # Before any new send: what a crash left in doubt may be in WhatsApp's store.
            messages_settle_unknown(session=self.session, driver=self.driver)
            self.doubts_settled = True
        return min(
            engine_send_next(session=self.session, driver=self.driver, pacer=self.pacer),
            max(0.0, clock.poll_due - time.monotonic()),
        )

    def poll(self) -> None:
        acks = self.driver.poll_acks()
        if acks:
            messages_apply_acks(session=self.session, acks=acks)
        incoming = self.driver.poll_incoming()
        if incoming:
            messages_apply_incoming(session=self.session, incoming=incoming)


def session_host_run(*, session_id: int) -> None:
    """Hold the account until told to stop; returns at once if another host holds it."""
    acquired = session_host_acquire(session_id=session_id)
    if acquired is None:
        logger.info("Account %s is held by another host or not wanted", session_id)
        return
    session, token = acquired
    # What the previous host of this account left behind can no longer be finished by it.
    messages_release_expired_claims(session_id=session.pk)
    messages_mark_orphans_unknown(session_id=session.pk)
    driver = get_driver(profile_dir=session.profile_dir_path)
    host = SessionHost(session, token, driver)
    error = ""
    try:
        driver.start()
        session_record_strategy(
            session=session,
            token=token,
            strategy=driver.strategy,
            detail=driver.strategy_detail,
        )
        logger.info("Session host for %s started", session.name, extra={"session_id": session.pk})
        host.run()
    except Exception as exc:
        error = f"The session host crashed: {exc}"[:255]
        logger.exception(
            "Session host for %s crashed", session.name, extra={"session_id": session.pk}
        )
        raise
    finally:
        try:
            driver.close()
        finally:
            session_host_release(
                session=session, token=token, logged_out=host.logged_out, error=error
            )
            logger.info(
                "Session host for %s stopped", session.name, extra={"session_id": session.pk}
            )
            close_old_connections()
