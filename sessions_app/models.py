import datetime
from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from whatsmassive.db import choices_check


class SessionStatus(models.TextChoices):
    NEW = "new", _("new")
    WAITING_QR = "waiting_qr", _("waiting for QR scan")
    CONNECTED = "connected", _("connected")
    DISCONNECTED = "disconnected", _("disconnected")
    LOGGED_OUT = "logged_out", _("logged out")
    BANNED = "banned", _("banned")
    RESTRICTED = "restricted", _("restricted by WhatsApp")
    ERROR = "error", _("error")


class PoolStrategy(models.TextChoices):
    COMPETITIVE = "competitive", _("competitive")
    FIXED_TURNS = "fixed_turns", _("fixed turns")
    RANDOM_TURNS = "random_turns", _("random turns")


STRATEGY_HELP = {
    PoolStrategy.COMPETITIVE: _("Whichever account is free takes the next message."),
    PoolStrategy.FIXED_TURNS: _("Accounts take turns in pool order (round robin)."),
    PoolStrategy.RANDOM_TURNS: _(
        "Each message goes to a random account, in proportion to its weight."
    ),
}


def default_time_zone() -> str:
    # A callable, so that migrations do not freeze one deployment's TIME_ZONE.
    return settings.TIME_ZONE


def default_new_chats_per_day() -> int:
    return settings.WHATSAPP_NEW_CHATS_PER_DAY


class WhatsAppSession(models.Model):
    """One WhatsApp account linked through WhatsApp Web, with its pacing rules."""

    name = models.CharField(max_length=80, unique=True)
    phone_e164 = models.CharField("phone (E.164)", max_length=20, blank=True)
    status = models.CharField(
        max_length=20, choices=SessionStatus.choices, default=SessionStatus.NEW
    )
    status_detail = models.CharField(max_length=255, blank=True)

    qr_payload = models.TextField(
        blank=True, help_text=_("Current login QR string, empty once linked")
    )
    qr_updated_at = models.DateTimeField(null=True, blank=True)

    should_run = models.BooleanField(
        default=False, help_text=_("The operator wants the account connected and sending")
    )
    logout_requested = models.BooleanField(default=False, editable=False)
    profile_dir = models.CharField(max_length=500, blank=True)
    host = models.CharField(
        max_length=255, blank=True, help_text=_("Worker host holding the browser")
    )
    # Identifies the one session host that holds the account; a second host (a redelivered
    # task, a restart racing a slow shutdown) sees a live token and stands down.
    host_token = models.CharField(max_length=32, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True)

    # Pacing: safe defaults for a new real account (see README, "Pacing").
    min_delay_seconds = models.PositiveIntegerField(default=20)
    max_delay_seconds = models.PositiveIntegerField(default=60)
    hourly_cap = models.PositiveIntegerField(default=60)
    daily_cap = models.PositiveIntegerField(default=400)
    active_from = models.TimeField(
        default=datetime.time(8, 0), help_text=_("Sends only from this local time…")
    )
    active_until = models.TimeField(
        default=datetime.time(19, 0), help_text=_("…until this one (the same time twice: all day)")
    )
    time_zone = models.CharField(max_length=64, default=default_time_zone)
    next_send_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Earliest time the account may send again")
    )

    # What WhatsApp said last: why it restricts or logged out the account, whether the
    # account is open in another window, and how the driver talks to WhatsApp Web.
    restriction_reason = models.CharField(max_length=255, blank=True)
    restricted_since = models.DateTimeField(null=True, blank=True)
    restricted_until = models.DateTimeField(null=True, blank=True)
    in_conflict = models.BooleanField(
        default=False, help_text=_("WhatsApp is open for this account in another window")
    )
    logout_reason = models.CharField(max_length=64, blank=True)
    driver_strategy = models.CharField(max_length=20, blank=True)
    strategy_detail = models.CharField(max_length=255, blank=True)
    # Operator requests the session host carries out ("Use here", link by phone number).
    takeover_requested = models.BooleanField(default=False, editable=False)
    pairing_phone = models.CharField(max_length=20, blank=True, editable=False)
    pairing_code = models.CharField(max_length=16, blank=True, editable=False)
    pairing_code_at = models.DateTimeField(null=True, blank=True, editable=False)

    sent_count = models.PositiveIntegerField(default=0)
    failed_count = models.PositiveIntegerField(default=0)

    # Account safety (README, "Account safety").
    new_chats_per_day = models.PositiveIntegerField(
        _("new chats a day"),
        default=default_new_chats_per_day,
        help_text=_("First messages a day to numbers this account never wrote to"),
    )
    linked_at = models.DateTimeField(
        _("linked at"),
        null=True,
        blank=True,
        help_text=_("When the phone was first linked: the warm-up counts its days from it"),
    )
    health_score = models.PositiveSmallIntegerField(_("health"), null=True, blank=True)
    health_parts = models.JSONField(_("health parts"), default=dict, blank=True)
    health_at = models.DateTimeField(_("health computed at"), null=True, blank=True)
    # Why the account stopped itself; shown until an operator connects it again.
    paused_reason = models.CharField(_("paused because"), max_length=255, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("WhatsApp account")
        verbose_name_plural = _("WhatsApp accounts")
        permissions = [
            ("manage_accounts", "Can add, connect, disconnect and log out accounts, set pacing")
        ]
        constraints = [
            choices_check("status", SessionStatus, name="whatsappsession_status_valid"),
            models.CheckConstraint(
                condition=Q(min_delay_seconds__lte=F("max_delay_seconds")),
                name="whatsappsession_delay_range",
            ),
        ]
        indexes = [models.Index(fields=["status", "heartbeat_at"], name="session_status_heartbeat")]

    def __str__(self) -> str:
        return self.name

    @property
    def profile_dir_path(self) -> Path:
        return Path(self.profile_dir)


class Pool(models.Model):
    """A group of accounts that share a campaign's messages according to a strategy."""

    name = models.CharField(max_length=80, unique=True)
    strategy = models.CharField(
        max_length=20, choices=PoolStrategy.choices, default=PoolStrategy.COMPETITIVE
    )
    description = models.CharField(max_length=255, blank=True)
    sessions = models.ManyToManyField(WhatsAppSession, through="PoolMember", related_name="pools")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [choices_check("strategy", PoolStrategy, name="pool_strategy_valid")]
        permissions = [("manage_pools", "Can create, edit and delete pools and their members")]

    def __str__(self) -> str:
        return self.name


class PoolMember(models.Model):
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="members")
    session = models.ForeignKey(
        WhatsAppSession, on_delete=models.CASCADE, related_name="memberships"
    )
    position = models.PositiveSmallIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    weight = models.PositiveSmallIntegerField(
        default=1, help_text=_("Share of messages under random turns")
    )

    class Meta:
        ordering = ["pool", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pool", "session"], name="poolmember_unique_session"),
            models.CheckConstraint(condition=Q(weight__gte=1), name="poolmember_weight_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.pool} #{self.position}: {self.session}"


class AccountChat(models.Model):
    """A number an account has a chat with: it wrote to it, or the number wrote first.

    Only chats the account opened itself (`outgoing`) spend its daily new-chat budget.
    """

    session = models.ForeignKey(WhatsAppSession, on_delete=models.CASCADE, related_name="chats")
    phone_e164 = models.CharField(_("phone (E.164)"), max_length=20)
    opened_at = models.DateTimeField(_("opened at"))
    outgoing = models.BooleanField(_("opened by the account"), default=True)

    class Meta:
        verbose_name = _("account chat")
        constraints = [
            models.UniqueConstraint(fields=["session", "phone_e164"], name="accountchat_unique"),
        ]
        indexes = [
            models.Index(
                fields=["session", "opened_at"],
                condition=Q(outgoing=True),
                name="accountchat_opened",
            )
        ]

    def __str__(self) -> str:
        return f"{self.session_id}: {self.phone_e164}"


class IncidentKind(models.TextChoices):
    RESTRICTED = "restricted", _("restricted by WhatsApp")
    DISCONNECTED = "disconnected", _("disconnected")


class AccountIncident(models.Model):
    """Something that went wrong with an account as a whole, for its health score."""

    session = models.ForeignKey(WhatsAppSession, on_delete=models.CASCADE, related_name="incidents")
    kind = models.CharField(max_length=20, choices=IncidentKind.choices)
    at = models.DateTimeField()
    detail = models.CharField(max_length=255, blank=True)

    class Meta:
        verbose_name = _("account incident")
        constraints = [choices_check("kind", IncidentKind, name="accountincident_kind_valid")]
        indexes = [models.Index(fields=["session", "at"], name="accountincident_recent")]

    def __str__(self) -> str:
        return f"{self.session_id}: {self.kind} at {self.at:%Y-%m-%d %H:%M}"
