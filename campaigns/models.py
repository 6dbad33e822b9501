from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from campaigns.policies import WEEKDAYS, Rules, WindowsError, windows_check
from campaigns.templating import DATE_LONG, DATE_SHORT, DEFAULT_LOCALE, TEMPLATE_MAX_CHARS
from debtors.models import Debtor
from sessions_app.models import Pool, WhatsAppSession
from whatsmassive.db import choices_check


class CampaignStatus(models.TextChoices):
    DRAFT = "draft", _("draft")
    RUNNING = "running", _("running")
    PAUSED = "paused", _("paused")
    COMPLETED = "completed", _("completed")
    CANCELLED = "cancelled", _("cancelled")


# Why a message to an opted-out debtor was skipped.
OPTED_OUT_REASON = gettext_noop("The debtor opted out")
# The phone opted out, whichever debtor it belonged to then: checked by every claim.
DO_NOT_CONTACT_REASON = gettext_noop("The phone is on the do-not-contact registry")


class MessageStatus(models.TextChoices):
    """The message state machine: see README, "Message state machine"."""

    PENDING = "pending", _("pending")
    CLAIMED = "claimed", _("claimed")
    SENDING = "sending", _("sending")
    SENT = "sent", _("sent")
    DELIVERED = "delivered", _("delivered")
    READ = "read", _("read")
    FAILED = "failed", _("failed")
    UNKNOWN = "unknown", _("unknown (check by hand)")
    SKIPPED = "skipped", _("skipped")


class OptOutMode(models.TextChoices):
    """Whether every message must tell the debtor how to stop them (Reg F §1006.6(e))."""

    NOT_REQUIRED = "not_required", _("not required")
    REQUIRED = "required", _("required: refuse to start without it")
    APPEND = "append", _("appended to every message")


def always_open_windows() -> list[list[list[str]]]:
    return [[["00:00", "24:00"]] for _ in WEEKDAYS]


# The presets' descriptions as campaigns/0008 wrote them: pages show them in the reader's
# language (an operator's own description is shown as written).
PRESET_DESCRIPTIONS = frozenset(
    {
        gettext_noop(
            "Ley 2300 de 2023, artículo 3: Monday to Friday 07:00-19:00, Saturday"
            " 08:00-15:00, never on Sundays or Colombian public holidays, at most one"
            " contact a day."
        ),
        gettext_noop(
            "12 CFR 1006.6(b)(1)(i): no communication before 08:00 or after 21:00 at the"
            " consumer's location; §1006.6(e): electronic messages say how to opt out."
        ),
        gettext_noop(
            "CONDUSEF, Mexico's financial consumer protection commission, on collection:"
            " contact between 07:00 and 22:00 in the debtor's local time."
        ),
    }
)


class ContactPolicy(models.Model):
    """When and how often a debtor may be written to, in the debtor's local time.

    Windows per weekday (see campaigns.policies), closed all day on the holiday country's
    public holidays, and caps across every campaign and account.
    """

    name = models.CharField(max_length=200, unique=True, verbose_name=_("name"))
    description = models.TextField(
        blank=True, help_text=_("Where the rules come from"), verbose_name=_("description")
    )
    windows = models.JSONField(
        default=always_open_windows,
        help_text=_("Per weekday, Monday first: [from, until] ranges in the debtor's local time"),
        verbose_name=_("windows"),
    )
    holiday_country = models.CharField(
        max_length=2,
        blank=True,
        help_text=_("ISO country code: closed on its public holidays"),
        verbose_name=_("holiday country"),
    )
    max_per_day = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=_("Messages per debtor per local day, all campaigns"),
        verbose_name=_("max per day"),
    )
    max_per_period = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=_("Messages per debtor within the period below"),
        verbose_name=_("max per period"),
    )
    period_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text=_("The period's length in local days, today included"),
        verbose_name=_("period days"),
    )
    opt_out_mode = models.CharField(
        _("opt-out instruction"),
        max_length=20,
        choices=OptOutMode.choices,
        default=OptOutMode.NOT_REQUIRED,
    )
    opt_out_instruction = models.CharField(
        max_length=300,
        blank=True,
        help_text=_("How to stop the messages, e.g. “Reply STOP to…”"),
        verbose_name=_("opt out instruction"),
    )
    opt_out_confirmation = models.CharField(
        max_length=300,
        blank=True,
        help_text=_("The one reply sent after a debtor opts out"),
        verbose_name=_("opt out confirmation"),
    )
    is_default = models.BooleanField(
        _("default"), default=False, help_text=_("New campaigns follow it unless they pick another")
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("contact policy")
        ordering = ["name"]
        verbose_name_plural = _("contact policies")
        constraints = [
            choices_check("opt_out_mode", OptOutMode, name="contact_policy_opt_out_mode_valid"),
            models.UniqueConstraint(
                fields=["is_default"],
                condition=Q(is_default=True),
                name="contact_policy_one_default",
                violation_error_message=_("Only one contact policy can be the default."),
            ),
            models.CheckConstraint(
                condition=Q(max_per_period__isnull=True) | Q(period_days__gte=1),
                name="contact_policy_period_has_days",
                violation_error_message=_("A cap over a period needs the period's days."),
            ),
            models.CheckConstraint(
                condition=~Q(opt_out_mode="not_required") & ~Q(opt_out_instruction="")
                | Q(opt_out_mode="not_required"),
                name="contact_policy_opt_out_has_text",
                violation_error_message=_("Say what the opt-out instruction is."),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def description_display(self) -> str:
        if self.description in PRESET_DESCRIPTIONS:
            return gettext(self.description)
        return self.description

    def clean(self) -> None:
        try:
            self.windows = windows_check(self.windows)
        except WindowsError as exc:
            raise ValidationError({"windows": str(exc)}) from exc

    @property
    def rules(self) -> Rules:
        return Rules.of(self.windows, self.holiday_country)

    @property
    def has_caps(self) -> bool:
        return bool(self.max_per_day) or bool(self.max_per_period and self.period_days)


def default_policy() -> Any:
    """The default policy's id for a new campaign (None when there is none)."""
    return ContactPolicy.objects.filter(is_default=True).values_list("pk", flat=True).first()


class MessageKind(models.TextChoices):
    """Why a message goes out: a campaign's, or one written to a single debtor."""

    CAMPAIGN = "campaign", _("campaign")
    REPLY = "reply", _("reply from the inbox")
    CONFIRMATION = "confirmation", _("opt-out confirmation")


class CampaignLocale(models.TextChoices):
    """How money and dates are written in the messages (a CLDR locale)."""

    ES_CO = DEFAULT_LOCALE, _("Spanish (Colombia)")
    ES_MX = "es_MX", _("Spanish (Mexico)")
    ES_PE = "es_PE", _("Spanish (Peru)")
    ES_CL = "es_CL", _("Spanish (Chile)")
    ES_EC = "es_EC", _("Spanish (Ecuador)")
    ES_US = "es_US", _("Spanish (United States)")
    EN_US = "en_US", _("English (United States)")


class DateStyle(models.TextChoices):
    LONG = DATE_LONG, _("long: 15 de diciembre de 2026")
    SHORT = DATE_SHORT, _("short: 15/12/2026")


class Campaign(models.Model):
    name = models.CharField(max_length=200, verbose_name=_("name"))
    template = models.TextField(
        max_length=TEMPLATE_MAX_CHARS,
        help_text=_("Placeholders: {name}, {amount}, {due_date}, {reference} and extra fields"),
        verbose_name=_("template"),
    )
    pool = models.ForeignKey(
        Pool, on_delete=models.PROTECT, related_name="campaigns", verbose_name=_("pool")
    )
    variants = models.JSONField(
        _("other variants"),
        default=list,
        blank=True,
        help_text=_("More texts of the message; each debtor gets one of them or the template"),
    )
    locale = models.CharField(
        _("language and country"),
        max_length=10,
        choices=CampaignLocale.choices,
        default=CampaignLocale.ES_CO,
        help_text=_("How amounts and dates are written"),
    )
    date_style = models.CharField(
        _("date style"), max_length=10, choices=DateStyle.choices, default=DateStyle.SHORT
    )
    policy = models.ForeignKey(
        ContactPolicy,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        default=default_policy,
        related_name="campaigns",
        verbose_name=_("contact policy"),
    )
    time_zones = models.JSONField(
        default=list,
        blank=True,
        editable=False,
        help_text=_("Its debtors' zone keys at start; a message's zone group is a position here"),
        verbose_name=_("time zones"),
    )
    audience = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("Filter over debtors (status, amount range, due dates)"),
        verbose_name=_("audience"),
    )
    status = models.CharField(
        max_length=20,
        choices=CampaignStatus.choices,
        default=CampaignStatus.DRAFT,
        verbose_name=_("status"),
    )
    status_detail = models.CharField(
        max_length=255,
        blank=True,
        help_text=_("Why it waits or paused"),
        verbose_name=_("status detail"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="campaigns",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at", "-id"]
        constraints = [
            choices_check("status", CampaignStatus, name="campaign_status_valid"),
            choices_check("locale", CampaignLocale, name="campaign_locale_valid"),
            choices_check("date_style", DateStyle, name="campaign_date_style_valid"),
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("template"), TEMPLATE_MAX_CHARS),
                name="campaign_template_max_length",
                violation_error_message=(
                    f"The message text may have at most {TEMPLATE_MAX_CHARS:,} characters."
                ),
            ),
        ]
        permissions = [
            ("run_campaign", "Can start, pause, resume and cancel campaigns, resolve messages"),
            ("export_messages", "Can export campaign messages (debtor data)"),
        ]
        indexes = [models.Index(fields=["status", "pool"], name="campaign_status_pool")]

    def __str__(self) -> str:
        return self.name

    @property
    def templates(self) -> list[str]:
        """Every text of the message: the template is variant 1, then the other variants."""
        return [self.template, *self.variants]

    @property
    def takes_resends(self) -> bool:
        """A resent message only goes out while the campaign still sends (running or paused)."""
        return self.status in {CampaignStatus.RUNNING, CampaignStatus.PAUSED}


# A message's zone group across campaigns: campaign id x ZONE_GROUPS + its zone group.
ZONE_GROUPS = 10_000
ZONE_WINDOW = F("campaign_id") * ZONE_GROUPS + F("zone_group")


class Message(models.Model):
    """One message to one debtor: a campaign's (one per debtor), or a direct one.

    Direct messages (an answer from the inbox, an opt-out confirmation) belong to no
    campaign; they are pre-assigned to the account that carries the conversation and go
    through the same state machine.
    """

    # Every status change adds an entry to each index whose condition the new row meets
    # (status is indexed, so no update is HOT): the composite indexes below that lead with
    # campaign and with session serve their lookups, and the others are partial.
    campaign = models.ForeignKey(
        Campaign,
        on_delete=models.CASCADE,
        related_name="messages",
        null=True,
        blank=True,
        db_index=False,
        verbose_name=_("campaign"),
    )
    kind = models.CharField(
        max_length=20,
        choices=MessageKind.choices,
        default=MessageKind.CAMPAIGN,
        verbose_name=_("kind"),
    )
    debtor = models.ForeignKey(
        Debtor, on_delete=models.PROTECT, related_name="messages", verbose_name=_("debtor")
    )
    assigned_session = models.ForeignKey(
        WhatsAppSession,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_messages",
        help_text=_("Pre-assigned account under fixed or random turns"),
        db_index=False,
        verbose_name=_("assigned account"),
    )
    session = models.ForeignKey(
        WhatsAppSession,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="messages",
        help_text=_("Account that claimed (and sent) it"),
        db_index=False,
        verbose_name=_("account"),
    )
    body = models.TextField(verbose_name=_("body"))
    status = models.CharField(
        max_length=20,
        choices=MessageStatus.choices,
        default=MessageStatus.PENDING,
        verbose_name=_("status"),
    )
    # The debtor's time zones, set at start: a position in Campaign.time_zones (the claim
    # picks only messages whose group the campaign's policy opens now).
    zone_group = models.PositiveSmallIntegerField(
        default=0, db_default=0, verbose_name=_("zone group")
    )
    # Which of the campaign's texts the body comes from: a position in Campaign.templates.
    variant = models.PositiveSmallIntegerField(default=0, db_default=0, verbose_name=_("variant"))
    attempts = models.PositiveSmallIntegerField(default=0, verbose_name=_("attempts"))
    last_error = models.CharField(max_length=500, blank=True, verbose_name=_("last error"))
    wa_message_id = models.CharField(_("WhatsApp message id"), max_length=128, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True, verbose_name=_("lease until"))
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    read_at = models.DateTimeField(null=True, blank=True, verbose_name=_("read at"))
    failed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("failed at"))

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["id"]
        constraints = [
            # Direct messages have no campaign: NULLs are distinct, so any number per debtor.
            models.UniqueConstraint(fields=["campaign", "debtor"], name="message_one_per_debtor"),
            choices_check("status", MessageStatus, name="message_status_valid"),
            choices_check("kind", MessageKind, name="message_kind_valid"),
            models.CheckConstraint(
                condition=(Q(kind="campaign") & Q(campaign__isnull=False))
                | (~Q(kind="campaign") & Q(campaign__isnull=True)),
                name="message_campaign_iff_campaign_kind",
            ),
            models.CheckConstraint(
                condition=~Q(status="claimed") | Q(lease_until__isnull=False),
                name="message_claim_has_lease",
            ),
        ]
        indexes = [
            # The claim: the next pending message, pre-assigned to the account or open to the
            # pool, among the open zone groups of its running campaigns. The group is one
            # number across campaigns, so the array of open ones leads the index and the
            # scan stops at the first row (an array on a later column loses the order).
            models.Index(
                ZONE_WINDOW,
                F("assigned_session"),
                F("id"),
                condition=Q(status="pending"),
                name="message_pending_window",
            ),
            # The sweep: a campaign's newest pending message.
            models.Index(
                fields=["campaign", "id"],
                condition=Q(status="pending"),
                name="message_pending",
            ),
            # Direct messages waiting for their account, claimed ahead of campaigns.
            models.Index(
                fields=["assigned_session", "id"],
                condition=Q(status="pending", campaign__isnull=True),
                name="message_pending_direct",
            ),
            # Hand-over and deleting an account; competitive pools assign no one, so their
            # messages' updates leave this index alone.
            models.Index(
                fields=["assigned_session"],
                condition=Q(assigned_session__isnull=False),
                name="message_assigned_session",
            ),
            # The sweep: expired leases and orphaned sends. Only claimed and sending messages
            # hold a lease. Conditioned on the lease, not on those statuses: an index whose
            # condition `status = 'sending'` implies looks free to a planner whose statistics
            # predate the campaign, and settling a message by its id then walked every dead
            # entry the campaign's claims had left in it.
            models.Index(
                fields=["lease_until"],
                condition=Q(lease_until__isnull=False),
                name="message_in_flight",
            ),
            models.Index(fields=["campaign", "status"], name="message_campaign_status"),
            models.Index(fields=["session", "sent_at"], name="message_session_sent"),
            # The dashboard: sends and failures of the last hour and of today, all accounts.
            models.Index(
                fields=["sent_at"], condition=Q(sent_at__isnull=False), name="message_sent_at"
            ),
            models.Index(
                fields=["failed_at"], condition=Q(failed_at__isnull=False), name="message_failed_at"
            ),
            models.Index(
                fields=["wa_message_id"], condition=~Q(wa_message_id=""), name="message_wa_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign_id}/{self.debtor_id} {self.status}"
