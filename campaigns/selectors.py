import datetime
import time
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import Count, Func, Max, Q, QuerySet
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from campaigns.audience import AudienceGuards, audience_debtors, audience_guards
from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus, OptOutMode
from campaigns.templating import (
    MessageVariants,
    TemplateError,
    template_unknown_placeholders,
    variants_check,
)
from debtors.models import Debtor
from sessions_app.models import PoolMember, WhatsAppSession

# Statuses after which a message needs no more work from the engine.
FINAL_STATUSES = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.READ,
        MessageStatus.FAILED,
        MessageStatus.UNKNOWN,
        MessageStatus.SKIPPED,
    }
)


SENT_STATUSES = (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ)
IN_FLIGHT_STATUSES = (MessageStatus.CLAIMED, MessageStatus.SENDING)


@dataclass(frozen=True)
class StatusBucket:
    """One of the groups operators count and filter messages by."""

    key: str
    label: str | Promise
    statuses: tuple[str, ...]


# The order operators read them in: what is left, what went out, what went wrong.
STATUS_BUCKETS = (
    StatusBucket("pending", gettext_lazy("Pending"), (MessageStatus.PENDING,)),
    StatusBucket("in_progress", gettext_lazy("In progress"), IN_FLIGHT_STATUSES),
    StatusBucket("sent", gettext_lazy("Sent"), (MessageStatus.SENT,)),
    StatusBucket("delivered", gettext_lazy("Delivered"), (MessageStatus.DELIVERED,)),
    StatusBucket("read", gettext_lazy("Read"), (MessageStatus.READ,)),
    StatusBucket("failed", gettext_lazy("Failed"), (MessageStatus.FAILED,)),
    StatusBucket("unknown", gettext_lazy("Unknown"), (MessageStatus.UNKNOWN,)),
    StatusBucket("skipped", gettext_lazy("Skipped"), (MessageStatus.SKIPPED,)),
)
STATUS_BUCKETS_BY_KEY = {bucket.key: bucket for bucket in STATUS_BUCKETS}


@dataclass(frozen=True)
class BucketCount:
    key: str
    label: str | Promise
    count: int


@dataclass(frozen=True)
class CampaignProgress:
    counts: dict[str, int] = field(default_factory=dict)

    def _sum(self, statuses: tuple[str, ...]) -> int:
        return sum(self.counts.get(status, 0) for status in statuses)

    @property
    def buckets(self) -> list[BucketCount]:
        return [
            BucketCount(bucket.key, bucket.label, self._sum(bucket.statuses))
            for bucket in STATUS_BUCKETS
        ]

    @property
    def sent(self) -> int:
        """Handed to WhatsApp: sent, delivered or read."""
        return self._sum(SENT_STATUSES)

    @property
    def open(self) -> int:
        """Still to send: pending or in flight."""
        return self._sum((MessageStatus.PENDING, *IN_FLIGHT_STATUSES))

    @property
    def unknown(self) -> int:
        return self.counts.get(MessageStatus.UNKNOWN, 0)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return sum(n for status, n in self.counts.items() if status in FINAL_STATUSES)

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 0


def campaign_progress(*, campaign: Campaign) -> CampaignProgress:
    """Counts by message status, straight from the Message rows."""
    rows = (
        Message.objects.filter(campaign=campaign)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return CampaignProgress(counts=dict(rows))


def campaign_progress_many(*, campaigns: list[Campaign]) -> dict[int, CampaignProgress]:
    """Progress of several campaigns in one grouped query (a list page's rows)."""
    counts: dict[int, dict[str, int]] = {campaign.pk: {} for campaign in campaigns}
    rows = (
        Message.objects.filter(campaign_id__in=counts)
        .order_by()
        .values_list("campaign_id", "status")
        .annotate(n=Count("id"))
    )
    for campaign_id, status, n in rows:
        counts[campaign_id][status] = n
    return {pk: CampaignProgress(counts=by_status) for pk, by_status in counts.items()}


def campaign_list() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("pool", "created_by")


def campaigns_running() -> QuerySet[Campaign]:
    return campaign_list().filter(status=CampaignStatus.RUNNING)


def debtor_extra_keys(*, debtors: QuerySet[Debtor] | None = None) -> list[str]:
    """Extra-field keys of `debtors` (default: all who can be messaged): placeholders beyond
    the base ones."""
    if debtors is None:
        debtors = Debtor.objects.filter(opted_out=False)
    debtors = debtors.exclude(extra={}).order_by()
    if connection.vendor == "postgresql":
        # The keys are collected inside PostgreSQL, not by reading every row into Python.
        keys = debtors.annotate(key=Func("extra", function="jsonb_object_keys"))
        return sorted(keys.values_list("key", flat=True).distinct())
    found: set[str] = set()
    for extra in debtors.values_list("extra", flat=True).iterator(chunk_size=5000):
        found.update(str(key) for key in extra)
    return sorted(found)


@dataclass(frozen=True)
class CampaignPreview:
    """The sample debtor's message: `body` is what it will be sent (from text number
    `variant`), `bodies` what each of the campaign's texts would make of it."""

    debtor: Debtor | None
    body: str
    audience_count: int
    problems: list[str]
    guards: AudienceGuards
    bodies: list[str] = field(default_factory=list)
    variant: int = 0


def _template_problems(templates: list[str], audience: QuerySet[Debtor]) -> list[str]:
    try:
        variants_check(templates)
    except TemplateError as exc:
        return [str(exc)]
    extra_keys = debtor_extra_keys(debtors=audience)
    problems = []
    for number, template in enumerate(templates, start=1):
        unknown = template_unknown_placeholders(template, extra_keys=extra_keys)
        if unknown:
            names = ", ".join(f"{{{name}}}" for name in unknown)
            problem = _("Unknown placeholder(s): %(names)s.") % {"names": names}
            if len(templates) > 1:
                problem = _("Variant %(number)s: %(error)s") % {"number": number, "error": problem}
            problems.append(problem)
    return problems


def _campaign_problems(
    campaign: Campaign, audience: QuerySet[Debtor]
) -> tuple[list[str], list[str]]:
    """(problems with the pool and audience, problems with the template)."""
    problems = []
    if not PoolMember.objects.filter(pool_id=campaign.pool_id, enabled=True).exists():
        problems.append(_("Pool “%(pool)s” has no enabled account.") % {"pool": campaign.pool})
    if not audience.exists():
        problems.append(
            _(
                "The audience is empty: no debtor matches it (opted-out debtors never do; "
                "closed and recently contacted ones only when included)."
            )
        )
    template_problems = _template_problems(campaign.templates, audience)
    return problems, template_problems + _policy_problems(campaign)


def _policy_problems(campaign: Campaign) -> list[str]:
    policy = campaign.policy
    if policy is None:
        return [_("Choose a contact policy: it says when and how often debtors may be written to.")]
    if policy.opt_out_mode == OptOutMode.REQUIRED and any(
        policy.opt_out_instruction not in template for template in campaign.templates
    ):
        return [
            _(
                "The contact policy “%(policy)s” requires the opt-out instruction in every"
                " message: add “%(instruction)s” to the text."
            )
            % {"policy": policy, "instruction": policy.opt_out_instruction}
        ]
    return []


def campaign_opt_out_suffix(*, campaign: Campaign, variant: int = 0) -> str:
    """What the policy appends to every body of text number `variant` ("" unless the policy
    says so and that text lacks it)."""
    policy = campaign.policy
    if policy is None or policy.opt_out_mode != OptOutMode.APPEND:
        return ""
    if policy.opt_out_instruction in campaign.templates[variant]:
        return ""
    return "\n\n" + policy.opt_out_instruction


def campaign_message_variants(*, campaign: Campaign) -> MessageVariants:
    """The campaign's texts as its messages are rendered (TemplateError if one is invalid)."""
    return MessageVariants(
        campaign.templates, locale=campaign.locale, date_style=campaign.date_style
    )


def campaign_problems(*, campaign: Campaign) -> list[str]:
    """Everything that would stop this campaign from starting, in operator language."""
    setup, template = _campaign_problems(campaign, audience_debtors(audience=campaign.audience))
    return setup + template


def campaign_preview(*, campaign: Campaign) -> CampaignPreview:
    audience = audience_debtors(audience=campaign.audience)
    debtor = audience.order_by("id").first()
    setup, template = _campaign_problems(campaign, audience)
    body, bodies, variant = "", [], 0
    if debtor is not None and not template:
        variants = campaign_message_variants(campaign=campaign)
        bodies = [
            variants.render(debtor, number)
            + campaign_opt_out_suffix(campaign=campaign, variant=number)
            for number in range(len(campaign.templates))
        ]
        variant = variants.variant_for(debtor)
        body = bodies[variant]
    return CampaignPreview(
        debtor=debtor,
        body=body,
        audience_count=audience.count(),
        problems=setup + template,
        guards=audience_guards(audience=campaign.audience),
        bodies=bodies,
        variant=variant,
    )


@dataclass(frozen=True)
class AccountBreakdown:
    """What one account did for a campaign."""

    session: WhatsAppSession
    sent: int
    failed: int
    in_flight: int
    last_sent_at: datetime.datetime | None
    recent: int  # sent or failed within the last PACE_WINDOW


PACE_WINDOW = datetime.timedelta(minutes=10)
# Fewer sends than this in the window say too little about the pace to promise a time.
PACE_MIN_SENDS = 3


def campaign_accounts(
    *, campaign: Campaign, now: datetime.datetime | None = None
) -> list[AccountBreakdown]:
    """Per account: the pool's enabled members, and any other account that sent for it."""
    since = (now or timezone.now()) - PACE_WINDOW
    totals: dict[int, dict[str, Any]] = {
        row["session_id"]: dict(row)
        for row in Message.objects.filter(campaign=campaign, session__isnull=False)
        .order_by()
        .values("session_id")
        .annotate(
            sent=Count("id", filter=Q(status__in=SENT_STATUSES)),
            failed=Count("id", filter=Q(status=MessageStatus.FAILED)),
            in_flight=Count("id", filter=Q(status__in=IN_FLIGHT_STATUSES)),
            last_sent_at=Max("sent_at"),
            recent=Count("id", filter=Q(sent_at__gte=since) | Q(failed_at__gte=since)),
        )
    }
    # Members first, in pool order; then accounts that left the pool but sent for it.
    members = PoolMember.objects.filter(pool_id=campaign.pool_id).select_related("session")
    sessions = {
        member.session_id: member.session
        for member in members.order_by("position", "id")
        if member.enabled or member.session_id in totals
    }
    missing = totals.keys() - sessions.keys()
    if missing:
        sessions.update(
            (session.pk, session)
            for session in WhatsAppSession.objects.filter(pk__in=missing).order_by("name")
        )
    breakdown = []
    for session_id, session in sessions.items():
        row = totals.get(session_id, {})
        breakdown.append(
            AccountBreakdown(
                session=session,
                sent=row.get("sent", 0),
                failed=row.get("failed", 0),
                in_flight=row.get("in_flight", 0),
                last_sent_at=row.get("last_sent_at"),
                recent=row.get("recent", 0),
            )
        )
    return breakdown


@dataclass(frozen=True)
class CampaignPace:
    """How fast a running campaign went lately, and when it ends if it keeps that pace."""

    per_minute: float
    finish_at: datetime.datetime


def campaign_pace(
    *,
    campaign: Campaign,
    progress: CampaignProgress,
    accounts: list[AccountBreakdown],
    now: datetime.datetime,
) -> CampaignPace | None:
    """None until the campaign has run a minute and sent a few, and once nothing is left."""
    if campaign.status != CampaignStatus.RUNNING or not progress.open or not campaign.started_at:
        return None
    seconds = min(PACE_WINDOW, now - campaign.started_at).total_seconds()
    recent = sum(account.recent for account in accounts)
    if seconds < 60 or recent < PACE_MIN_SENDS:
        return None
    per_second = recent / seconds
    return CampaignPace(
        per_minute=per_second * 60,
        finish_at=now + datetime.timedelta(seconds=progress.open / per_second),
    )


def campaign_live_context(*, campaign: Campaign) -> dict[str, Any]:
    """Everything `campaign_detail.html#progress` shows; needs no request (it is pushed)."""
    # Taken before reading: a fragment with a higher version saw the same or newer rows.
    # Pushes rendered in different processes can arrive out of order; live.js keeps the newest.
    version = time.time_ns() // 1000
    now = timezone.now()
    progress = campaign_progress(campaign=campaign)
    accounts = campaign_accounts(campaign=campaign, now=now)
    return {
        "version": version,
        "campaign": campaign,
        "progress": progress,
        "accounts": accounts,
        "pace": campaign_pace(campaign=campaign, progress=progress, accounts=accounts, now=now),
        "preview": (
            campaign_preview(campaign=campaign) if campaign.status == CampaignStatus.DRAFT else None
        ),
    }


MESSAGE_PAGE_SIZE = 50


@dataclass(frozen=True)
class MessagePage:
    messages: list[Message]
    next_cursor: int | None
    is_first: bool


def campaign_message_page(
    *, campaign: Campaign, bucket: str = "", after: int | None = None, size: int = MESSAGE_PAGE_SIZE
) -> MessagePage:
    """One page of a campaign's messages, optionally of one status bucket.

    Keyset on debtor id: the (campaign, debtor) unique index serves the unfiltered list in
    order, so page 2,000 costs what page 1 costs. Messages are created in debtor id order,
    so this is also the order they were queued in.
    """
    messages = Message.objects.filter(campaign=campaign)
    if bucket in STATUS_BUCKETS_BY_KEY:
        messages = messages.filter(status__in=STATUS_BUCKETS_BY_KEY[bucket].statuses)
    if after is not None:
        messages = messages.filter(debtor_id__gt=after)
    rows = list(
        messages.select_related("debtor", "session")
        .only(
            "campaign_id",
            "status",
            "attempts",
            "last_error",
            "sent_at",
            "debtor__name",
            "debtor__phone_e164",
            "session__name",
        )
        .order_by("debtor_id")[: size + 1]
    )
    next_cursor = rows[size - 1].debtor_id if len(rows) > size else None
    return MessagePage(messages=rows[:size], next_cursor=next_cursor, is_first=after is None)
