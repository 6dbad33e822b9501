import logging
from collections.abc import Iterable
from typing import cast

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.models import User as AuthUser
from django.db import connection, transaction
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from campaigns.audience import audience_debtors
from campaigns.engine import UNUSABLE_STATUSES, assign_members
from campaigns.engine.statements import table
from campaigns.models import (
    ZONE_GROUPS,
    Campaign,
    CampaignStatus,
    ContactPolicy,
    Message,
    MessageStatus,
)
from campaigns.policies import debtor_zones
from campaigns.selectors import (
    campaign_message_variants,
    campaign_opt_out_suffix,
    campaign_problems,
)
from campaigns.templating import DATE_SHORT, DEFAULT_LOCALE, variants_check
from sessions_app.models import Pool, PoolMember, PoolStrategy
from webhooks.services import campaign_transition_emit
from whatsmassive import realtime
from whatsmassive.models import AuditKind
from whatsmassive.roles import require
from whatsmassive.services import audit_record_add

logger = logging.getLogger(__name__)

User = AbstractBaseUser | AnonymousUser | None
RUN = "campaigns.run_campaign"
FAN_OUT_BATCH = 5000
ANALYZE_AFTER_MESSAGES = 1000


# A message resent in any other campaign state would never be sent.


class CampaignTransitionError(Exception):
    """The campaign is not in a state that allows the requested change."""


def _campaign_transition(
    *, campaign: Campaign, allowed_from: Iterable[str], to: str, by: User, **fields: object
) -> Campaign:
    # A conditional UPDATE: of two concurrent requests (double click, two tabs) exactly one
    # changes the row; the other sees 0 rows and is refused.
    was = campaign.status
    changed = Campaign.objects.filter(pk=campaign.pk, status__in=list(allowed_from)).update(
        status=to, updated_at=timezone.now(), **fields
    )
    if changed != 1:
        campaign.refresh_from_db(fields=["status"])
        raise CampaignTransitionError(
            _("Campaign “%(name)s” is %(status)s and cannot become %(to)s.")
            % {
                "name": campaign.name,
                "status": campaign.get_status_display(),
                "to": CampaignStatus(to).label,
            }
        )
    campaign.refresh_from_db()
    campaign_transition_emit(campaign=campaign, was=allowed_from)
    audit_record_add(
        kind=AuditKind.CAMPAIGN,
        action=to,
        by=by,
        campaign_id=campaign.pk,
        detail={"from": was, "detail": campaign.status_detail},
    )
    # Every page showing the campaign follows its status, whoever changed it.
    realtime.campaign_progress_changed(campaign.pk)
    logger.info(
        "Campaign %s is now %s",
        campaign.name,
        to,
        extra={"campaign_id": campaign.pk, "by": getattr(by, "username", None)},
    )
    return campaign


@transaction.atomic
def campaign_pause(*, campaign: Campaign, by: User = None) -> Campaign:
    """Stop new claims; messages already being sent finish normally."""
    require(by, RUN)
    return _campaign_transition(
        campaign=campaign,
        allowed_from=[CampaignStatus.RUNNING],
        to=CampaignStatus.PAUSED,
        by=by,
        status_detail=gettext_noop("Paused by an operator"),
    )


@transaction.atomic
def campaign_resume(*, campaign: Campaign, by: User = None) -> Campaign:
    require(by, RUN)
    return _campaign_transition(
        campaign=campaign,
        allowed_from=[CampaignStatus.PAUSED],
        to=CampaignStatus.RUNNING,
        by=by,
        status_detail="",
    )


@transaction.atomic
def campaign_cancel(*, campaign: Campaign, by: User = None) -> Campaign:
    """Cancel the campaign and skip every message not yet handed to WhatsApp."""
    require(by, RUN)
    campaign = _campaign_transition(
        campaign=campaign,
        allowed_from=[CampaignStatus.DRAFT, CampaignStatus.RUNNING, CampaignStatus.PAUSED],
        to=CampaignStatus.CANCELLED,
        by=by,
        status_detail=gettext_noop("Cancelled by an operator"),
        finished_at=timezone.now(),
    )
    Message.objects.filter(
        campaign=campaign, status__in=[MessageStatus.PENDING, MessageStatus.CLAIMED]
    ).update(
        status=MessageStatus.SKIPPED,
        lease_until=None,
        last_error=gettext_noop("Campaign cancelled"),
        updated_at=timezone.now(),
    )
    return campaign


class CampaignStartRefused(Exception):
    """The campaign cannot start; `reasons` says why, for the operator."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons


@transaction.atomic
def campaign_create(
    *,
    name: str,
    template: str,
    pool: Pool,
    audience: dict[str, object],
    policy: ContactPolicy | None = None,
    variants: list[str] | None = None,
    locale: str = DEFAULT_LOCALE,
    date_style: str = DATE_SHORT,
    by: User = None,
) -> Campaign:
    """A draft; without a `policy` it follows the default contact policy. `variants` are
    texts besides `template`: each message uses one of them."""
    require(by, "campaigns.add_campaign")
    variants = variants or []
    variants_check([template, *variants])  # too long, or a syntax error: refused at once
    created_by = by if isinstance(by, AuthUser) else None
    chosen = {"policy": policy} if policy is not None else {}
    campaign = Campaign.objects.create(
        name=name,
        template=template,
        variants=variants,
        locale=locale,
        date_style=date_style,
        pool=pool,
        audience=audience,
        created_by=created_by,
        **chosen,
    )
    logger.info("Campaign %s created", name, extra={"campaign_id": campaign.pk})
    return campaign


def _fan_out(campaign: Campaign) -> int:
    """One pending message per debtor, each in the zone group of the debtor's time zones;
    the groups are stored on the campaign (the claim opens them by its policy)."""
    texts = campaign_message_variants(campaign=campaign)
    suffixes = [
        campaign_opt_out_suffix(campaign=campaign, variant=number)
        for number in range(len(campaign.templates))
    ]
    members = list(
        PoolMember.objects.filter(pool_id=campaign.pool_id, enabled=True)
        .select_related("session")
        .order_by("position", "id")
    )
    usable = [m for m in members if m.session.status not in UNUSABLE_STATUSES] or members
    strategy = campaign.pool.strategy
    debtors = audience_debtors(audience=campaign.audience).order_by("id")
    groups: dict[str, int] = {}
    total = 0
    batch: list[tuple[int, str, int, int]] = []
    for debtor in debtors.iterator(chunk_size=FAN_OUT_BATCH):
        zones = debtor_zones(phone_e164=debtor.phone_e164, time_zone=debtor.time_zone)
        group = groups.setdefault(zones, len(groups))
        if group >= ZONE_GROUPS:
            raise CampaignStartRefused(
                [
                    _("The audience spans more than %(groups)s sets of time zones.")
                    % {"groups": number_format(ZONE_GROUPS, force_grouping=True)}
                ]
            )
        variant, body = texts.pick(debtor)
        batch.append((debtor.pk, body + suffixes[variant], group, variant))
        if len(batch) == FAN_OUT_BATCH:
            total += _insert_batch(campaign, batch, strategy, usable, start=total)
            batch = []
    if batch:
        total += _insert_batch(campaign, batch, strategy, usable, start=total)
    campaign.time_zones = list(groups)
    Campaign.objects.filter(pk=campaign.pk).update(time_zones=campaign.time_zones)
    return total


def _refresh_message_statistics(created: int) -> None:
    """Let PostgreSQL see a large fan-out before the engine plans its claims around it.

    The engine's claim is prepared once per connection; planned on statistics that predate
    thousands of new pending messages it would sort them all on every claim, and autovacuum
    only catches up minutes later. ANALYZE samples a fixed number of rows, so this costs a
    fraction of a second however large the table is.
    """
    if connection.vendor == "postgresql" and created >= ANALYZE_AFTER_MESSAGES:
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {table(Message)}")


def _insert_batch(
    campaign: Campaign,
    batch: list[tuple[int, str, int, int]],
    strategy: str,
    members: list[PoolMember],
    *,
    start: int,
) -> int:
    """Insert one pending message per (debtor id, body, zone group, variant), pre-assigned
    unless competitive."""
    assigned: list[int | None] = [None] * len(batch)
    if strategy != PoolStrategy.COMPETITIVE:
        chunks = assign_members(strategy, members, list(range(len(batch))), start=start)
        for session_id, positions in chunks.items():
            for position in positions:
                assigned[position] = session_id
    rows = [
        (debtor_id, session_id, body, group, variant)
        for (debtor_id, body, group, variant), session_id in zip(batch, assigned, strict=True)
    ]
    if connection.vendor == "postgresql":
        _copy_messages(campaign, rows)
    else:
        Message.objects.bulk_create(
            Message(
                campaign=campaign,
                debtor_id=debtor_id,
                assigned_session_id=session_id,
                body=body,
                zone_group=group,
                variant=variant,
            )
            for debtor_id, session_id, body, group, variant in rows
        )
    return len(rows)


# What differs from one fanned-out message to the next; every other column is the same.
_FAN_OUT_COLUMNS = ("debtor_id", "assigned_session_id", "body", "zone_group", "variant")


def _copy_messages(campaign: Campaign, rows: list[tuple[int, int | None, str, int, int]]) -> None:
    """COPY new messages in (PostgreSQL): several times faster than bulk_create, whose
    per-field Python cost far more than the insert itself (figures: README, Performance).

    The columns every message shares come from one unsaved Message: the model's defaults.
    """
    now = timezone.now()
    blank = Message(campaign=campaign, created_at=now, updated_at=now)
    shared = [
        field
        for field in Message._meta.concrete_fields
        if not field.primary_key and field.attname not in _FAN_OUT_COLUMNS
    ]
    values = tuple(
        field.get_db_prep_save(getattr(blank, field.attname), connection) for field in shared
    )
    # A concrete field always has a column.
    names = [cast(str, field.column) for field in shared]
    columns = ", ".join(connection.ops.quote_name(name) for name in [*names, *_FAN_OUT_COLUMNS])
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {table(Message)} ({columns}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(values + row)


@transaction.atomic
def campaign_start(*, campaign: Campaign, by: User = None) -> Campaign:
    """Start a draft (creating one pending message per eligible debtor) or resume a paused one.

    Two clicks or two tabs start it once: the row is locked and the change is a conditional
    UPDATE from draft.
    """
    require(by, RUN)
    campaign = (
        Campaign.objects.select_for_update(of=("self",))
        .select_related("pool", "policy")
        .get(pk=campaign.pk)
    )
    if campaign.status == CampaignStatus.PAUSED:
        return campaign_resume(campaign=campaign, by=by)
    if campaign.status != CampaignStatus.DRAFT:
        raise CampaignTransitionError(
            _("Campaign “%(name)s” is %(status)s and cannot start.")
            % {"name": campaign.name, "status": campaign.get_status_display()}
        )
    problems = campaign_problems(campaign=campaign)
    if problems:
        raise CampaignStartRefused(problems)
    campaign = _campaign_transition(
        campaign=campaign,
        allowed_from=[CampaignStatus.DRAFT],
        to=CampaignStatus.RUNNING,
        by=by,
        started_at=timezone.now(),
        status_detail="",
    )
    created = _fan_out(campaign)
    _refresh_message_statistics(created)
    logger.info(
        "Campaign %s started with %d messages",
        campaign.name,
        created,
        extra={"campaign_id": campaign.pk},
    )
    return campaign


@transaction.atomic
def message_resolve_unknown(*, message: Message, sent: bool, by: User = None) -> Message:
    """The operator checked the phone: mark an `unknown` message sent, or send it again.

    A resend needs a campaign that still sends (running or paused); once it is over, the
    message could only be marked sent.
    """
    require(by, RUN)
    campaign = message.campaign
    if not sent and campaign is not None and not campaign.takes_resends:
        raise CampaignTransitionError(
            _(
                "The campaign is %(status)s: a resent message would never go out. "
                "Mark it sent once you have checked the phone."
            )
            % {"status": campaign.get_status_display()}
        )
    now = timezone.now()
    fields: dict[str, object] = (
        {"status": MessageStatus.SENT, "sent_at": now}
        if sent
        else {"status": MessageStatus.PENDING, "session": None, "lease_until": None}
    )
    changed = Message.objects.filter(pk=message.pk, status=MessageStatus.UNKNOWN).update(
        updated_at=now, **fields
    )
    if changed != 1:
        raise CampaignTransitionError(_("Only a message in state “unknown” can be resolved."))
    logger.info(
        "Unknown message %s marked %s by %s",
        message.pk,
        "sent" if sent else "for resend",
        getattr(by, "username", None),
        extra={"message_id": message.pk, "campaign_id": message.campaign_id},
    )
    realtime.campaign_progress_changed(message.campaign_id)
    message.refresh_from_db()
    return message


@transaction.atomic
def campaign_update(
    *,
    campaign: Campaign,
    name: str,
    template: str,
    pool: Pool,
    audience: dict[str, object],
    policy: ContactPolicy | None = None,
    variants: list[str] | None = None,
    locale: str | None = None,
    date_style: str | None = None,
    by: User = None,
) -> Campaign:
    """Change a draft (`policy`, `variants`, `locale` or `date_style` None keeps what it
    has); once started, a campaign keeps what it was started with."""
    require(by, "campaigns.change_campaign")
    kept = {"policy": policy, "variants": variants, "locale": locale, "date_style": date_style}
    chosen: dict[str, object] = {key: value for key, value in kept.items() if value is not None}
    variants_check([template, *(campaign.variants if variants is None else variants)])
    # Conditional on draft: an edit racing a start waits for the start's row lock, then
    # finds the campaign running and changes nothing.
    changed = Campaign.objects.filter(pk=campaign.pk, status=CampaignStatus.DRAFT).update(
        name=name,
        template=template,
        pool=pool,
        audience=audience,
        updated_at=timezone.now(),
        **chosen,
    )
    if changed != 1:
        campaign.refresh_from_db(fields=["status"])
        raise CampaignTransitionError(
            _("Campaign “%(name)s” is %(status)s: only a draft can be edited.")
            % {"name": campaign.name, "status": campaign.get_status_display()}
        )
    campaign.refresh_from_db()
    logger.info(
        "Campaign %s edited",
        name,
        extra={"campaign_id": campaign.pk, "by": getattr(by, "username", None)},
    )
    return campaign
