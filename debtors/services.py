import datetime
import logging
from collections.abc import Mapping as PhoneReasons
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from campaigns.models import OPTED_OUT_REASON, Message, MessageStatus
from debtors.models import (
    CLOSED_STATUSES,
    DISPOSITION_CLOSES,
    Debtor,
    DebtorStatus,
    Disposition,
    DispositionKind,
    DoNotContact,
    OptOutSource,
)
from debtors.selectors import debtor_outreach_status
from webhooks.models import EventType
from webhooks.services import debtor_events_emit
from whatsmassive import clock, realtime
from whatsmassive.models import AuditKind
from whatsmassive.roles import Actor, require
from whatsmassive.services import audit_record_build, audit_records_add

logger = logging.getLogger(__name__)


def _messages_skip_unsent(*, debtor_ids: list[int], reason: str, now: datetime.datetime) -> int:
    """Skip the debtors' messages not handed to WhatsApp yet (pending, or claimed and not
    yet sending), and tell those messages' campaigns' pages."""
    skipped = Message.objects.filter(
        debtor_id__in=debtor_ids, status__in=[MessageStatus.PENDING, MessageStatus.CLAIMED]
    ).update(status=MessageStatus.SKIPPED, lease_until=None, last_error=reason, updated_at=now)
    if skipped:
        # The campaigns of exactly the messages just skipped: their stamp says which.
        just_skipped = Message.objects.filter(
            debtor_id__in=debtor_ids, status=MessageStatus.SKIPPED, updated_at=now
        )
        realtime.campaigns_progress_changed(just_skipped.values_list("campaign_id", flat=True))
    return skipped


@transaction.atomic
def debtor_opt_out(
    *,
    debtors: QuerySet[Debtor] | None = None,
    phones: PhoneReasons[str, str] | None = None,
    at: datetime.datetime,
    source: OptOutSource,
    reason: str = "",
    by: Actor = None,
) -> int:
    """Opt debtors out, and their phones (with `phones`: E.164 numbers, debtors or not, each
    with its own reason or blank for `reason`) onto the do-not-contact registry.

    Their messages not handed to WhatsApp yet (pending, or claimed and not yet sending) are
    skipped at once, and the pages of those messages' campaigns are told. Each phone newly
    on the registry, and each debtor newly opted out, gets an audit record. Returns how many
    debtors changed; those already opted out keep their first opt-out time, and phones
    already on the registry keep their first entry.
    """
    require(by, "debtors.opt_out_debtor")
    phones = phones or {}
    chosen = Debtor.objects.none() if debtors is None else debtors
    if phones:
        chosen = chosen | Debtor.objects.filter(phone_e164__in=list(phones))
    ids = list(chosen.values_list("pk", flat=True))
    now = timezone.now()
    newly = dict(
        Debtor.objects.select_for_update()
        .filter(pk__in=ids, opted_out=False)
        .values_list("pk", "phone_e164")
    )
    changed = Debtor.objects.filter(pk__in=list(newly)).update(
        opted_out=True, opted_out_at=at, updated_at=now
    )
    debtor_events_emit(
        type=EventType.DEBTOR_OPTED_OUT,
        debtors=Debtor.objects.filter(pk__in=list(newly), opted_out_at=at, updated_at=now),
    )
    debtor_phones = Debtor.objects.filter(pk__in=ids).values_list("phone_e164", flat=True)
    reasons = {
        **dict.fromkeys(debtor_phones, reason),
        **{phone: given or reason for phone, given in phones.items()},
    }
    added = _registry_add(reasons=reasons, at=at, source=source, by=by)
    debtor_ids = {phone: pk for pk, phone in newly.items()}
    # The audit trail is kept in English, whatever the operator reads.
    with translation.override("en"):
        source_label = str(source.label)
    audit_records_add(
        [
            audit_record_build(
                kind=AuditKind.OPT_OUT,
                action=source,
                by=by,
                at=now,
                phone_e164=phone,
                detail={
                    "reason": reasons[phone],
                    "source": source_label,
                    "debtor_id": debtor_ids.get(phone),
                    "opted_out_at": at.isoformat(),
                },
            )
            for phone in sorted(added | set(debtor_ids))
        ]
    )
    skipped = _messages_skip_unsent(debtor_ids=ids, reason=OPTED_OUT_REASON, now=now)
    logger.info(
        "%d debtor(s) opted out (%s), %d phone(s) added to the do-not-contact registry, "
        "%d unsent message(s) skipped",
        changed,
        source.label,
        len(added),
        skipped,
    )
    return changed


def _registry_add(
    *, reasons: PhoneReasons[str, str], at: datetime.datetime, source: OptOutSource, by: Actor
) -> set[str]:
    """Put phones on the do-not-contact registry; returns those that were not on it."""
    known = set(
        DoNotContact.objects.filter(phone_e164__in=list(reasons)).values_list(
            "phone_e164", flat=True
        )
    )
    added_by = by if isinstance(by, User) else None
    DoNotContact.objects.bulk_create(
        [
            DoNotContact(
                phone_e164=phone,
                reason=reason[:500],
                source=source,
                added_at=at,
                added_by=added_by,
            )
            for phone, reason in reasons.items()
            if phone not in known
        ],
        batch_size=2000,
        # A concurrent opt-out of the same phone keeps its own, earlier, entry.
        ignore_conflicts=True,
    )
    return set(reasons) - known


# What an operator or the API may change on a debtor; the phone is its identity.
DEBTOR_EDITABLE = (
    "name",
    "amount",
    "currency",
    "due_date",
    "reference",
    "status",
    "extra",
    "time_zone",
)

# Why a closed debtor's unsent messages were skipped, by the disposition that closed it.
CLOSED_REASONS = {
    DispositionKind.PAID: gettext_noop("The debtor paid"),
    DispositionKind.DISPUTE: gettext_noop("The debtor disputes the debt"),
    DispositionKind.WRONG_NUMBER: gettext_noop("Wrong number"),
}
_KIND_CLOSING = {status: kind for kind, status in DISPOSITION_CLOSES.items()}


@transaction.atomic
def debtor_update(*, debtor: Debtor, changes: dict[str, Any], by: Actor = None) -> Debtor:
    """Change a debtor's fields.

    A status that closes the debtor (paid, disputed, wrong number) is recorded as the
    matching disposition too, and its unsent messages are skipped at once.
    """
    require(by, "debtors.change_debtor")
    unknown = set(changes) - set(DEBTOR_EDITABLE)
    if unknown:
        raise ValueError(f"Not editable: {', '.join(sorted(unknown))}")
    now = clock.now()
    locked = Debtor.objects.select_for_update().get(pk=debtor.pk)
    closing = changes.get("status")
    closes = closing in CLOSED_STATUSES and locked.status != closing
    for name, value in changes.items():
        setattr(locked, name, value)
    locked.updated_at = now
    locked.full_clean(exclude=["phone_e164", "phone_raw"])
    locked.save(update_fields=[*changes, "updated_at"])
    if closes:
        _disposition_add(
            debtor=locked,
            kind=_KIND_CLOSING[DebtorStatus(str(closing))],
            note="Recorded by a change of the debtor's status.",
            by=by,
            at=now,
        )
    logger.info("Debtor %s updated: %s", locked.pk, ", ".join(sorted(changes)))
    return locked


def _disposition_add(
    *,
    debtor: Debtor,
    kind: DispositionKind,
    by: Actor,
    at: datetime.datetime,
    amount: Decimal | None = None,
    date: datetime.date | None = None,
    note: str = "",
) -> Disposition:
    """Store the disposition as the (locked) debtor's current one and apply what it means
    for the debtor's status: a closing kind closes it and skips its unsent messages, any
    other kind reopens a closed debtor at the status its messages say."""
    disposition = Disposition.objects.create(
        debtor=debtor,
        kind=kind,
        amount=amount,
        date=date,
        note=note,
        by=by if isinstance(by, User) else None,
        at=at,
    )
    status = DISPOSITION_CLOSES.get(kind)
    if status is None and debtor.status in CLOSED_STATUSES:
        status = debtor_outreach_status(debtor=debtor)
    fields: dict[str, object] = {"current_disposition": disposition, "updated_at": at}
    if status is not None:
        fields["status"] = status
    Debtor.objects.filter(pk=debtor.pk).update(**fields)
    for name, value in fields.items():
        setattr(debtor, name, value)
    if kind in CLOSED_REASONS:
        _messages_skip_unsent(debtor_ids=[debtor.pk], reason=CLOSED_REASONS[kind], now=at)
    return disposition


def _disposition_clean(
    kind: DispositionKind, amount: Decimal | None, date: datetime.date | None
) -> tuple[Decimal | None, datetime.date | None]:
    """The amount and date the kind keeps; ValidationError (per field) when they are wrong."""
    today = clock.today()
    if kind == DispositionKind.PROMISE:
        errors: dict[str, str] = {}
        if amount is None or amount <= 0:
            errors["amount"] = _("A promise to pay needs the amount promised (more than zero).")
        if date is None:
            errors["date"] = _("A promise to pay needs the day it will be paid.")
        elif date < today:
            errors["date"] = _("The promised day has already passed.")
        if errors:
            raise ValidationError(errors)
        return amount, date
    if kind == DispositionKind.CALL_BACK:
        if date is None:
            raise ValidationError({"date": _("A call back needs the day to call.")})
        if date < today:
            raise ValidationError({"date": _("The day to call back has already passed.")})
        return None, date
    return None, None


@transaction.atomic
def debtor_disposition_record(
    *,
    debtor: Debtor,
    kind: str,
    amount: Decimal | None = None,
    date: datetime.date | None = None,
    note: str = "",
    by: Actor,
) -> Disposition:
    """Record what came of a conversation; it becomes the debtor's current disposition.

    Paid, dispute and wrong number close the debtor: its messages not handed to WhatsApp
    yet are skipped at once and new campaigns leave it out by default. Raises
    ValidationError when the kind's amount or date is missing or already past.
    """
    require(by, "debtors.add_disposition")
    try:
        chosen = DispositionKind(kind)
    except ValueError:
        raise ValidationError({"kind": _("Choose what came of the conversation.")}) from None
    amount, date = _disposition_clean(chosen, amount, date)
    locked = Debtor.objects.select_for_update().get(pk=debtor.pk)
    disposition = _disposition_add(
        debtor=locked,
        kind=chosen,
        amount=amount,
        date=date,
        note=note.strip()[:2000],
        by=by,
        at=clock.now(),
    )
    logger.info(
        "Debtor %s: %s recorded by %s",
        locked.pk,
        chosen.label,
        getattr(by, "username", None) or "the system",
        extra={"debtor_id": locked.pk, "disposition_id": disposition.pk},
    )
    return disposition


def dispositions_mark_broken(*, by: Actor = None) -> int:
    """Mark promises whose day has passed (by `clock.today()`) with no later payment or
    newer promise as broken today; returns how many. Safe to run any number of times."""
    require(by, "debtors.add_disposition")
    today = clock.today()
    kept_or_replaced = Disposition.objects.filter(
        debtor_id=OuterRef("debtor_id"),
        kind__in=[DispositionKind.PAID, DispositionKind.PROMISE],
        at__gt=OuterRef("at"),
    )
    broken = (
        Disposition.objects.filter(
            kind=DispositionKind.PROMISE, broken_on__isnull=True, date__lt=today
        )
        .exclude(Exists(kept_or_replaced))
        .update(broken_on=today)
    )
    if broken:
        logger.info("%d promise(s) to pay broken", broken)
    return broken
