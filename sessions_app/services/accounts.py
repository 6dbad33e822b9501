"""Writes about WhatsApp accounts: create, pacing, connect/disconnect/log out, session hosts."""

import datetime
import logging
import shutil
import socket
import uuid
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from campaigns.engine import NobodyLeft, messages_hand_over
from sessions_app.drivers import profile_dir_for
from sessions_app.drivers.base import DriverState, Restriction
from sessions_app.models import AccountIncident, IncidentKind, SessionStatus, WhatsAppSession
from sessions_app.selectors import session_is_held, stale_before, time_zone_names
from webhooks.services import account_status_emit
from whatsmassive import realtime
from whatsmassive.roles import Actor, require

logger = logging.getLogger(__name__)

# What the driver reports, as the account's status.
STATUS_FOR_STATE = {
    DriverState.STARTING: SessionStatus.NEW,
    DriverState.WAITING_QR: SessionStatus.WAITING_QR,
    DriverState.CONNECTED: SessionStatus.CONNECTED,
    # Linked, and back by itself: the host waits and sends resume; the pools keep it.
    DriverState.SYNCING: SessionStatus.CONNECTED,
    DriverState.OFFLINE: SessionStatus.CONNECTED,
    # Another window has the account: it drops out of its pools like a disconnected one.
    DriverState.CONFLICT: SessionStatus.DISCONNECTED,
    DriverState.RESTRICTED: SessionStatus.RESTRICTED,
    DriverState.LOGGED_OUT: SessionStatus.LOGGED_OUT,
    DriverState.BANNED: SessionStatus.BANNED,
    DriverState.NEEDS_UPDATE: SessionStatus.ERROR,
    DriverState.ERROR: SessionStatus.ERROR,
}
MANAGE = "sessions_app.manage_accounts"
STATE_DETAIL = {
    DriverState.SYNCING: "Syncing chats with the phone: sends wait until it is done",
    DriverState.OFFLINE: "WhatsApp is offline (no connection to its servers): sends wait",
    DriverState.CONFLICT: (
        "WhatsApp is open for this account in another window or computer: press "
        "“Use here” to bring it back (the other window then disconnects)"
    ),
    DriverState.BANNED: (
        "WhatsApp banned this number for breaking its terms: appeal from the phone "
        "(WhatsApp > Request a review); do not link it again until WhatsApp lifts the ban"
    ),
    DriverState.NEEDS_UPDATE: (
        "WhatsApp Web asks for a newer client: update Debian's chromium package, or drop a "
        "newer wa-js in with WHATSAPP_WAJS_FILE, then connect again"
    ),
}
# States after which the account cannot send until an operator acts.
DROPPED_OUT = {SessionStatus.LOGGED_OUT, SessionStatus.BANNED}
# Driver states that take the account out of its pools; its host keeps running.
OUT_OF_POOLS = {DriverState.CONFLICT, DriverState.RESTRICTED}
# What an account entering these states costs its health score (README, "Account safety").
INCIDENT_FOR_STATE = {
    DriverState.RESTRICTED: IncidentKind.RESTRICTED,
    DriverState.BANNED: IncidentKind.RESTRICTED,
    DriverState.CONFLICT: IncidentKind.DISCONNECTED,
    DriverState.LOGGED_OUT: IncidentKind.DISCONNECTED,
}


@transaction.atomic
def session_create(*, name: str, by: Actor = None) -> WhatsAppSession:
    name = name.strip()
    require(by, MANAGE)
    if not name:
        raise ValidationError({"name": _("Give the account a name.")})
    if WhatsAppSession.objects.filter(name__iexact=name).exists():
        raise ValidationError(
            {"name": _("An account named “%(name)s” already exists.") % {"name": name}}
        )
    session = WhatsAppSession.objects.create(name=name)
    logger.info("Account %s added", name, extra={"session_id": session.pk})
    return session


@transaction.atomic
def session_update_pacing(
    *,
    session: WhatsAppSession,
    min_delay_seconds: int,
    max_delay_seconds: int,
    hourly_cap: int,
    daily_cap: int,
    active_from: datetime.time,
    active_until: datetime.time,
    time_zone: str,
    new_chats_per_day: int | None = None,
    by: Actor = None,
) -> WhatsAppSession:
    """Change how fast and when the account sends; its host applies it from the next send.

    Without `new_chats_per_day` the account keeps its new-chat budget."""
    require(by, MANAGE)
    errors: dict[str, str] = {}
    if min_delay_seconds < 0:
        errors["min_delay_seconds"] = _("The delay cannot be negative.")
    if max_delay_seconds < min_delay_seconds:
        errors["max_delay_seconds"] = _("The longest delay must be at least the shortest one.")
    for field, cap in (("hourly_cap", hourly_cap), ("daily_cap", daily_cap)):
        if cap < 1:
            errors[field] = _("Allow at least 1 message, or the account never sends.")
    if new_chats_per_day is not None and new_chats_per_day < 1:
        errors["new_chats_per_day"] = _(
            "Allow at least 1 new chat a day, or the account writes only to numbers it knows."
        )
    if time_zone not in time_zone_names():
        errors["time_zone"] = f"“{time_zone}” is not a time zone name; use one like America/Bogota."
    if errors:
        raise ValidationError(errors)
    budget = {} if new_chats_per_day is None else {"new_chats_per_day": new_chats_per_day}
    # An UPDATE of these columns only: the host writes the status and heartbeat meanwhile.
    WhatsAppSession.objects.filter(pk=session.pk).update(
        **budget,
        min_delay_seconds=min_delay_seconds,
        max_delay_seconds=max_delay_seconds,
        hourly_cap=hourly_cap,
        daily_cap=daily_cap,
        active_from=active_from,
        active_until=active_until,
        time_zone=time_zone,
        updated_at=timezone.now(),
    )
    realtime.session_changed(session.pk)
    logger.info("Pacing of account %s changed", session.name, extra={"session_id": session.pk})
    session.refresh_from_db()
    return session


@transaction.atomic
def session_connect(*, session: WhatsAppSession, by: Actor = None) -> WhatsAppSession:
    """The operator wants the account online: a session host is started for it."""
    require(by, MANAGE)
    from sessions_app.tasks import session_host

    # Connecting is also how an operator resumes an account that paused itself.
    WhatsAppSession.objects.filter(pk=session.pk).update(
        should_run=True, status_detail="Starting…", paused_reason="", updated_at=timezone.now()
    )
    transaction.on_commit(lambda: session_host.delay(session.pk))
    realtime.session_changed(session.pk)
    logger.info("Connecting account %s", session.name, extra={"session_id": session.pk})
    session.refresh_from_db()
    return session


@transaction.atomic
def session_disconnect(
    *, session: WhatsAppSession, by: Actor = None, reason: str = ""
) -> WhatsAppSession:
    """Stop the host (it closes the browser, keeping the profile: no new scan needed).

    A `reason` (the account paused itself) stays in its status until it is connected again.
    """
    require(by, MANAGE)
    session.refresh_from_db()
    fields: dict[str, object] = {
        "should_run": False,
        "status_detail": reason[:255] or "Disconnecting…",
        "paused_reason": reason[:255],
        "updated_at": timezone.now(),
    }
    if not session_is_held(session=session):
        # No host to wait for (it has not started yet, or it died): stopped already.
        fields.update(status_detail=reason[:255], qr_payload="")
        if session.status in {SessionStatus.WAITING_QR, SessionStatus.CONNECTED}:
            fields["status"] = SessionStatus.DISCONNECTED
    WhatsAppSession.objects.filter(pk=session.pk).update(**fields)
    messages_hand_over(session=session, nobody_left=NobodyLeft.KEEP)
    realtime.session_changed(session.pk)
    logger.info("Disconnecting account %s", session.name, extra={"session_id": session.pk})
    session.refresh_from_db()
    return session


@transaction.atomic
def session_logout(*, session: WhatsAppSession, by: Actor = None) -> WhatsAppSession:
    """Unlink the account: the host logs out and the profile is deleted (a new scan is needed).

    When no host holds the account the profile is deleted here.
    """
    require(by, MANAGE)
    WhatsAppSession.objects.filter(pk=session.pk).update(
        should_run=False, logout_requested=True, status_detail="Logging out…"
    )
    messages_hand_over(session=session, nobody_left=NobodyLeft.KEEP)
    session.refresh_from_db()
    if not session_is_held(session=session):
        session_forget_profile(session=session)
        session.refresh_from_db()
    realtime.session_changed(session.pk)
    logger.info("Logging out account %s", session.name, extra={"session_id": session.pk})
    return session


def session_forget_profile(*, session: WhatsAppSession) -> None:
    """The link is gone: delete the profile so the next connect starts with a new QR scan."""
    if session.profile_dir:
        shutil.rmtree(session.profile_dir, ignore_errors=True)
    reason = (
        WhatsAppSession.objects.filter(pk=session.pk)
        .values_list("logout_reason", flat=True)
        .first()
    )
    WhatsAppSession.objects.filter(pk=session.pk).update(
        status=SessionStatus.LOGGED_OUT,
        status_detail=(
            "Logged out"
            + (f" (WhatsApp says: {reason})" if reason else "")
            + ": scan a new QR code to link it again"
        ),
        logout_requested=False,
        qr_payload="",
        profile_dir="",
        connected_at=None,
    )


# --- used by the session host ------------------------------------------------------------


def session_host_acquire(*, session_id: int) -> tuple[WhatsAppSession, str] | None:
    """Take the account for this host, unless another live host holds it."""
    token = uuid.uuid4().hex
    now = timezone.now()
    with transaction.atomic():
        taken = (
            WhatsAppSession.objects.filter(pk=session_id, should_run=True)
            .filter(Q(host_token="") | Q(heartbeat_at__lt=stale_before()) | Q(heartbeat_at=None))
            .update(
                host_token=token,
                host=socket.gethostname(),
                heartbeat_at=now,
                profile_dir=str(profile_dir_for(session_id=session_id)),
                status_detail="Starting the browser…",
                updated_at=now,
            )
        )
    if taken != 1:
        return None
    return WhatsAppSession.objects.get(pk=session_id), token


def session_host_heartbeat(*, session: WhatsAppSession, token: str) -> bool:
    """Refresh the heartbeat and the account's settings; False: this host must stop."""
    alive = WhatsAppSession.objects.filter(pk=session.pk, host_token=token, should_run=True).update(
        heartbeat_at=timezone.now()
    )
    if alive != 1:
        return False
    # Pacing edited by an operator applies from the next send on.
    session.refresh_from_db(
        fields=[
            "min_delay_seconds",
            "max_delay_seconds",
            "hourly_cap",
            "daily_cap",
            "active_from",
            "active_until",
            "time_zone",
            "new_chats_per_day",
            "linked_at",
            "health_score",
        ]
    )
    return True


@transaction.atomic
def session_record_state(
    *,
    session: WhatsAppSession,
    token: str,
    state: DriverState,
    qr_payload: str | None,
    restriction: Restriction | None = None,
    logout_reason: str = "",
    account_phone: str | None = None,
) -> None:
    """Store what the driver reports; an account that dropped out hands its messages on."""
    status = STATUS_FOR_STATE[state]
    now = timezone.now()
    fields: dict[str, object] = {
        "status": status,
        "updated_at": now,
        "in_conflict": state == DriverState.CONFLICT,
        "status_detail": STATE_DETAIL.get(state, ""),
    }
    if status == SessionStatus.WAITING_QR:
        fields.update(
            qr_payload=qr_payload or "",
            qr_updated_at=now,
            status_detail="Scan the QR code with WhatsApp on the phone, or link it by number",
        )
    else:
        fields.update(qr_payload="", pairing_phone="", pairing_code="", pairing_code_at=None)
    if state == DriverState.CONNECTED:
        if session.linked_at is None:
            # The warm-up counts its days from the first link.
            fields["linked_at"] = session.linked_at = now
        fields.update(
            connected_at=now,
            logout_reason="",
            restriction_reason="",
            restricted_since=None,
            restricted_until=None,
        )
    if account_phone:
        fields["phone_e164"] = account_phone
    if restriction is not None:
        fields.update(
            restriction_reason=restriction.reason[:255],
            restricted_since=restriction.since,
            restricted_until=restriction.until,
            status_detail=(
                "WhatsApp restricts this number from messaging new chats: wait until the "
                "restriction ends, warm the number up (contacts who write first, fewer new "
                "chats a day), then disconnect and connect to try again"
            ),
        )
    if status in DROPPED_OUT:
        fields.update(should_run=False)
        fields["status_detail"] = fields["status_detail"] or (
            f"WhatsApp reports the account {status.label}"
        )
    if status == SessionStatus.LOGGED_OUT and logout_reason:
        fields.update(
            logout_reason=logout_reason[:64],
            status_detail=f"WhatsApp logged the account out ({logout_reason}): link it again",
        )
    WhatsAppSession.objects.filter(pk=session.pk, host_token=token).update(**fields)
    if status in DROPPED_OUT or state in OUT_OF_POOLS:
        messages_hand_over(session=session, nobody_left=NobodyLeft.KEEP)
        logger.error(
            "Account %s is %s", session.name, status.label, extra={"session_id": session.pk}
        )
    elif status != session.status:
        logger.info(
            "Account %s is %s", session.name, status.label, extra={"session_id": session.pk}
        )
    if status != session.status:
        account_status_emit(session_ids=[session.pk])
        incident = INCIDENT_FOR_STATE.get(state)
        if incident is not None:
            AccountIncident.objects.create(
                session=session, kind=incident, at=now, detail=str(fields["status_detail"])[:255]
            )
    session.status = status
    realtime.session_changed(session.pk)


@transaction.atomic
def session_host_release(
    *, session: WhatsAppSession, token: str, logged_out: bool, error: str = ""
) -> None:
    """The host stopped: the account is disconnected, in error, or forgotten after a logout.

    An account that should still run is picked up again by the supervisor.
    """
    current = WhatsAppSession.objects.filter(pk=session.pk, host_token=token)
    fields: dict[str, object] = {
        "host_token": "",
        "host": "",
        "qr_payload": "",
        "updated_at": timezone.now(),
    }
    if error:
        fields.update(status=SessionStatus.ERROR, status_detail=error)
        AccountIncident.objects.create(
            session=session, kind=IncidentKind.DISCONNECTED, at=timezone.now(), detail=error[:255]
        )
    elif not WhatsAppSession.objects.filter(pk=session.pk, status__in=DROPPED_OUT).exists():
        # An account that paused itself keeps saying why.
        paused = current.values_list("paused_reason", flat=True).first() or ""
        fields.update(status=SessionStatus.DISCONNECTED, status_detail=paused)
    changes_status = "status" in fields and current.exclude(status=fields["status"]).exists()
    current.update(**fields)
    if changes_status:
        account_status_emit(session_ids=[session.pk])
    if logged_out:
        session.refresh_from_db()
        session_forget_profile(session=session)
    realtime.session_changed(session.pk)


def session_simulate_scan(*, session: WhatsAppSession, by: Actor = None) -> None:
    """Sandbox only: what the phone does when it scans the account's QR code."""
    require(by, MANAGE)
    from sessions_app.drivers.sandbox import simulate_scan

    if (
        settings.WHATSAPP_DRIVER != "sandbox"
        or not session.profile_dir
        or session.status != SessionStatus.WAITING_QR
    ):
        raise ValueError("Simulated scans exist only for sandbox accounts waiting for a scan.")
    simulate_scan(Path(session.profile_dir))


# --- the supervisor ----------------------------------------------------------------------


def sessions_supervise() -> list[int]:
    """Restart hosts of accounts that should run but whose heartbeat went stale.

    Returns the ids of the accounts restarted.
    """
    from sessions_app.tasks import session_host

    # A host that died leaves a stale heartbeat; one that stopped (worker shutdown, crash)
    # released the account. A host starting right now has not taken it yet: give it time.
    settled = timezone.now() - datetime.timedelta(seconds=2 * settings.HOST_HEARTBEAT_SECONDS)
    stale = WhatsAppSession.objects.filter(should_run=True).filter(
        Q(heartbeat_at__lt=stale_before()) | Q(host_token="", updated_at__lt=settled)
    )
    restarted = []
    for session in stale:
        logger.warning(
            "Session host of %s stopped answering: restarting it",
            session.name,
            extra={"session_id": session.pk, "host": session.host},
        )
        session_host.delay(session.pk)
        restarted.append(session.pk)
    return restarted
