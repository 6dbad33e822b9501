"""What operators ask of a running session host, and what it reports back.

The host polls these once a second together with a logout request: "Use here" when the
account is open in another window, and a pairing code to link the account by its number.
"""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from debtors.imports.values import CellError, parse_phone
from sessions_app.models import SessionStatus, WhatsAppSession
from sessions_app.selectors import session_is_held
from whatsmassive import realtime
from whatsmassive.roles import Actor, require

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class HostRequests:
    logout: bool
    takeover: bool
    pairing_phone: str


def session_host_requests(*, session: WhatsAppSession) -> HostRequests:
    """The operator's pending requests for the account's host, in one query."""
    row = (
        WhatsAppSession.objects.filter(pk=session.pk)
        .values_list("logout_requested", "takeover_requested", "pairing_phone", "pairing_code")
        .first()
    )
    if row is None:
        return HostRequests(logout=False, takeover=False, pairing_phone="")
    logout, takeover, pairing_phone, pairing_code = row
    # A code already shown is not asked for again until the operator asks anew.
    return HostRequests(
        logout=logout, takeover=takeover, pairing_phone="" if pairing_code else pairing_phone
    )


@transaction.atomic
def session_request_takeover(*, session: WhatsAppSession, by: Actor = None) -> WhatsAppSession:
    """ "Use here": the host takes the account back from the other window."""
    require(by, "sessions_app.manage_accounts")
    session.refresh_from_db()
    if not session.in_conflict or not session_is_held(session=session):
        raise ValidationError(_("The account is not open in another window."))
    WhatsAppSession.objects.filter(pk=session.pk).update(
        takeover_requested=True, status_detail="Taking the account back from the other window…"
    )
    realtime.session_changed(session.pk)
    logger.info("Use here requested for %s", session.name, extra={"session_id": session.pk})
    session.refresh_from_db()
    return session


def session_takeover_done(*, session: WhatsAppSession, token: str) -> None:
    WhatsAppSession.objects.filter(pk=session.pk, host_token=token).update(takeover_requested=False)


@transaction.atomic
def session_request_pairing_code(
    *, session: WhatsAppSession, phone: str, by: Actor = None
) -> WhatsAppSession:
    """Link by phone number: the host asks WhatsApp for the code to type on that phone."""
    require(by, "sessions_app.manage_accounts")
    session.refresh_from_db()
    if session.status != SessionStatus.WAITING_QR or not session_is_held(session=session):
        raise ValidationError(
            {"phone": _("Connect the account first: the login screen is needed.")}
        )
    try:
        phone_e164 = parse_phone(phone, region=settings.DEFAULT_PHONE_REGION)
    except CellError as exc:
        raise ValidationError(
            {
                "phone": _("“%(phone)s” is not a phone number: %(error)s")
                % {"phone": phone, "error": exc}
            }
        ) from exc
    WhatsAppSession.objects.filter(pk=session.pk).update(
        pairing_phone=phone_e164,
        pairing_code="",
        pairing_code_at=None,
        status_detail=f"Asking WhatsApp for a pairing code for {phone_e164}…",
    )
    realtime.session_changed(session.pk)
    session.refresh_from_db()
    return session


def session_record_pairing_code(
    *, session: WhatsAppSession, token: str, code: str = "", error: str = ""
) -> None:
    """The code WhatsApp gave for the number (or why it gave none)."""
    fields: dict[str, object] = {"pairing_code": code, "pairing_code_at": timezone.now()}
    if error:
        fields.update(pairing_phone="", status_detail=f"No pairing code: {error}"[:255])
    else:
        fields["status_detail"] = "Type the pairing code on the phone"
    WhatsAppSession.objects.filter(pk=session.pk, host_token=token).update(**fields)
    realtime.session_changed(session.pk)


def session_record_strategy(
    *, session: WhatsAppSession, token: str, strategy: str, detail: str
) -> None:
    """How the host's driver talks to WhatsApp Web (and why, when it fell back)."""
    WhatsAppSession.objects.filter(pk=session.pk, host_token=token).update(
        driver_strategy=strategy, strategy_detail=detail[:255]
    )
