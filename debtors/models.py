from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from campaigns.policies import time_zone_valid
from whatsmassive.db import choices_check


def time_zone_validator(value: str) -> None:
    if value and not time_zone_valid(value):
        raise ValidationError(
            _("“%(value)s” is not a time zone: use an IANA name such as America/Bogota."),
            params={"value": value},
        )


class DebtorStatus(models.TextChoices):
    """Where the debtor stands in our outreach; follows the debtor's latest message."""

    NEW = "new", _("not contacted")
    SENT = "sent", _("sent")
    DELIVERED = "delivered", _("delivered")
    READ = "read", _("read")
    REPLIED = "replied", _("replied")
    UNREACHABLE = "unreachable", _("not on WhatsApp")
    PAID = "paid", _("paid")
    DISPUTED = "disputed", _("disputed")
    WRONG_NUMBER = "wrong_number", _("wrong number")


# Set by an operator's disposition (or the API): the debtor leaves the campaigns that have
# not reached it, new campaigns leave it out by default, and no send, receipt or reply
# moves it back to an outreach status.
CLOSED_STATUSES = (DebtorStatus.PAID, DebtorStatus.DISPUTED, DebtorStatus.WRONG_NUMBER)


class OnWhatsApp(models.TextChoices):
    """WhatsApp's answer when asked about the debtor's number, remembered for later sends."""

    UNKNOWN = "unknown", _("not asked yet")
    YES = "yes", _("on WhatsApp")
    NO = "no", _("not on WhatsApp")


def default_currency() -> str:
    # A callable, so that migrations do not freeze one deployment's DEFAULT_CURRENCY.
    return settings.DEFAULT_CURRENCY


class OptOutSource(models.TextChoices):
    """Who or what opted a debtor out."""

    REPLY = "reply", _("Debtor's reply")
    OPERATOR = "operator", _("Operator")
    IMPORT = "import", _("Imported list")
    API = "api", _("HTTP API")
    # Debtors opted out before the registry existed: their source was not recorded.
    EARLIER = "earlier", _("Before the registry")


class Debtor(models.Model):
    name = models.CharField(max_length=200, verbose_name=_("name"))
    phone_e164 = models.CharField(_("phone (E.164)"), max_length=20, unique=True)
    phone_raw = models.CharField(_("phone as given"), max_length=64, blank=True)
    amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0"), verbose_name=_("amount")
    )
    currency = models.CharField(max_length=3, default=default_currency, verbose_name=_("currency"))
    due_date = models.DateField(null=True, blank=True, verbose_name=_("due date"))
    reference = models.CharField(
        max_length=100, blank=True, db_index=True, verbose_name=_("reference")
    )
    extra = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("Extra columns from imports, usable in templates"),
        verbose_name=_("extra fields"),
    )
    status = models.CharField(
        max_length=20,
        choices=DebtorStatus.choices,
        default=DebtorStatus.NEW,
        verbose_name=_("status"),
    )
    opted_out = models.BooleanField(default=False, verbose_name=_("opted out"))
    opted_out_at = models.DateTimeField(null=True, blank=True, verbose_name=_("opted out at"))
    # Database defaults: imports insert debtors in bulk without naming these columns.
    on_whatsapp = models.CharField(
        max_length=7,
        choices=OnWhatsApp.choices,
        default=OnWhatsApp.UNKNOWN,
        db_default=OnWhatsApp.UNKNOWN,
        verbose_name=_("on WhatsApp"),
    )
    whatsapp_checked_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("WhatsApp checked at")
    )
    # WhatsApp's number-independent id of the contact (`…@lid`): replies may come from it.
    whatsapp_lid = models.CharField(_("WhatsApp LID"), max_length=40, blank=True, db_default="")
    # The latest of its dispositions, kept here so lists, filters and exports need no subquery.
    current_disposition = models.ForeignKey(
        "Disposition",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        editable=False,
        verbose_name=_("current disposition"),
    )
    time_zone = models.CharField(
        max_length=64,
        blank=True,
        db_default="",
        validators=[time_zone_validator],
        help_text=_("IANA name, e.g. America/Bogota; blank: from the phone number"),
        verbose_name=_("time zone"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("debtor")
        verbose_name_plural = _("debtors")
        ordering = ["name", "id"]
        permissions = [
            ("opt_out_debtor", "Can opt debtors out"),
            ("export_debtors", "Can export debtors"),
        ]
        constraints = [
            choices_check("status", DebtorStatus, name="debtor_status_valid"),
            choices_check("on_whatsapp", OnWhatsApp, name="debtor_on_whatsapp_valid"),
            models.CheckConstraint(condition=Q(amount__gte=0), name="debtor_amount_not_negative"),
            models.CheckConstraint(
                condition=Q(phone_e164__startswith="+"), name="debtor_phone_is_e164"
            ),
        ]
        # No index holds the status, so the engine's status writes (sent, delivered, read)
        # can be HOT: with it, each rewrote every index of the table, two trigram GIN ones
        # among them. A status filter walks the name index, a campaign start scans.
        indexes = [
            models.Index(fields=["name", "id"], name="debtor_name_id"),
            models.Index(fields=["due_date"], name="debtor_due_date"),
            models.Index(
                fields=["whatsapp_lid"], condition=~Q(whatsapp_lid=""), name="debtor_whatsapp_lid"
            ),
            # Campaign outcomes count messages to opted-out debtors: few, read by this index.
            models.Index(fields=["id"], condition=Q(opted_out=True), name="debtor_opted_out"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.phone_e164})"


class DispositionKind(models.TextChoices):
    """What came of a conversation with the debtor, as the operator records it."""

    PROMISE = "promise", _("promise to pay")
    PAID = "paid", _("paid")
    DISPUTE = "dispute", _("dispute")
    WRONG_NUMBER = "wrong_number", _("wrong number")
    CALL_BACK = "call_back", _("call back")
    NO_ANSWER = "no_answer", _("no answer")


# The debtor status each closing disposition sets (see CLOSED_STATUSES).
DISPOSITION_CLOSES = {
    DispositionKind.PAID: DebtorStatus.PAID,
    DispositionKind.DISPUTE: DebtorStatus.DISPUTED,
    DispositionKind.WRONG_NUMBER: DebtorStatus.WRONG_NUMBER,
}


class Disposition(models.Model):
    """One outcome recorded on a debtor; the debtor's current disposition is its latest."""

    debtor = models.ForeignKey(
        Debtor,
        on_delete=models.CASCADE,
        related_name="dispositions",
        db_index=False,
        verbose_name=_("debtor"),
    )
    kind = models.CharField(max_length=20, choices=DispositionKind.choices, verbose_name=_("kind"))
    amount = models.DecimalField(
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("Promise: how much"),
        verbose_name=_("amount"),
    )
    date = models.DateField(
        null=True,
        blank=True,
        help_text=_("Promise: the day it will be paid; call back: the day"),
        verbose_name=_("date"),
    )
    note = models.TextField(blank=True, max_length=2000, verbose_name=_("note"))
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dispositions",
        verbose_name=_("recorded by"),
    )
    at = models.DateTimeField(verbose_name=_("recorded at"))
    # The day the beat task found the promise's date passed without a later payment.
    broken_on = models.DateField(null=True, blank=True, verbose_name=_("broken on"))

    class Meta:
        verbose_name = _("disposition")
        verbose_name_plural = _("dispositions")
        ordering = ["-at", "-id"]
        constraints = [
            choices_check("kind", DispositionKind, name="disposition_kind_valid"),
            models.CheckConstraint(
                condition=~Q(kind=DispositionKind.PROMISE) | Q(amount__gt=0, date__isnull=False),
                name="disposition_promise_has_amount_and_date",
            ),
            models.CheckConstraint(
                condition=~Q(kind=DispositionKind.CALL_BACK) | Q(date__isnull=False),
                name="disposition_call_back_has_date",
            ),
            models.CheckConstraint(
                condition=Q(broken_on__isnull=True) | Q(kind=DispositionKind.PROMISE),
                name="disposition_only_promises_break",
            ),
        ]
        indexes = [
            models.Index(fields=["debtor", "-at"], name="disposition_debtor_at"),
            # The beat task: promises not yet found broken.
            models.Index(
                fields=["date"],
                condition=Q(kind="promise", broken_on__isnull=True),
                name="disposition_promise_open",
            ),
            models.Index(
                fields=["broken_on"],
                condition=Q(broken_on__isnull=False),
                name="disposition_broken",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.debtor_id})"

    @property
    def is_broken(self) -> bool:
        return self.broken_on is not None


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    RUNNING = "running", _("running")
    COMPLETED = "completed", _("completed")
    FAILED = "failed", _("failed")


class ImportFormat(models.TextChoices):
    CSV = "csv", "CSV"
    XLSX = "xlsx", "XLSX"
    ODS = "ods", "ODS"
    XLS = "xls", "XLS"


class DebtorImport(models.Model):
    """One uploaded debtor file, its column mapping and the outcome of running it."""

    file = models.FileField(upload_to="imports/%Y/%m/", verbose_name=_("file"))
    original_filename = models.CharField(max_length=255, verbose_name=_("original filename"))
    format = models.CharField(max_length=4, choices=ImportFormat.choices, verbose_name=_("format"))
    encoding = models.CharField(max_length=20, blank=True, verbose_name=_("encoding"))
    delimiter = models.CharField(max_length=1, blank=True, verbose_name=_("delimiter"))
    mapping = models.JSONField(
        default=dict,
        blank=True,
        help_text=_("Headers and the field each column goes to"),
        verbose_name=_("mapping"),
    )
    region = models.CharField(
        max_length=2,
        help_text=_("Region for phones without country code"),
        verbose_name=_("region"),
    )
    update_existing = models.BooleanField(default=False, verbose_name=_("update existing"))
    status = models.CharField(
        max_length=20,
        choices=ImportStatus.choices,
        default=ImportStatus.PENDING,
        verbose_name=_("status"),
    )
    rows_total = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text=_("Counted at upload (XLS: by the worker); drives the bar"),
        verbose_name=_("rows total"),
    )
    preview = models.JSONField(
        null=True,
        blank=True,
        help_text=_("Headers and first rows, read once by the worker; empty while it prepares"),
        verbose_name=_("preview"),
    )
    rows_read = models.PositiveIntegerField(default=0, verbose_name=_("rows read"))
    imported = models.PositiveIntegerField(default=0, verbose_name=_("imported"))
    updated = models.PositiveIntegerField(default=0, verbose_name=_("updated"))
    duplicates = models.PositiveIntegerField(default=0, verbose_name=_("duplicates"))
    invalid = models.PositiveIntegerField(default=0, verbose_name=_("invalid"))
    error_report = models.FileField(
        upload_to="import-errors/%Y/%m/", blank=True, verbose_name=_("error report")
    )
    error_message = models.TextField(blank=True, verbose_name=_("error message"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="debtor_imports",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    submitted_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text=_("When the operator confirmed the mapping"),
        verbose_name=_("submitted at"),
    )
    started_at = models.DateTimeField(null=True, blank=True, verbose_name=_("started at"))
    finished_at = models.DateTimeField(null=True, blank=True, verbose_name=_("finished at"))

    class Meta:
        verbose_name = _("debtor import")
        verbose_name_plural = _("debtor imports")
        ordering = ["-created_at", "-id"]
        constraints = [choices_check("status", ImportStatus, name="debtor_import_status_valid")]

    def __str__(self) -> str:
        return f"{self.original_filename} ({self.status})"

    @property
    def shows_progress(self) -> bool:
        """Past the mapping step: its page follows the import's progress and result."""
        return self.submitted_at is not None or self.is_done

    @property
    def is_preparing(self) -> bool:
        return self.preview is None and self.status == ImportStatus.PENDING

    @property
    def is_done(self) -> bool:
        return self.status in {ImportStatus.COMPLETED, ImportStatus.FAILED}

    @property
    def percent(self) -> int:
        if self.status == ImportStatus.COMPLETED:
            return 100
        if not self.rows_total:
            return 0
        return min(99, 100 * self.rows_read // self.rows_total)


class DoNotContact(models.Model):
    """A phone that gets no message, whichever debtor carries it now or later.

    The claim checks it for every message, so a number that opted out stays out when it
    comes back in a new import under another name. Removing a row (consent given again)
    is a Supervisor's decision, recorded in the audit trail.
    """

    phone_e164 = models.CharField(_("phone (E.164)"), max_length=20, unique=True)
    reason = models.CharField(max_length=500, blank=True, verbose_name=_("reason"))
    source = models.CharField(max_length=10, choices=OptOutSource.choices, verbose_name=_("source"))
    added_at = models.DateTimeField(_("since"), help_text=_("When the phone opted out"))
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("added by"),
    )

    class Meta:
        verbose_name = _("do-not-contact phone")
        verbose_name_plural = _("do-not-contact registry")
        ordering = ["-added_at", "-id"]
        permissions = [("restore_contact", "Can remove phones from the do-not-contact registry")]
        constraints = [
            choices_check("source", OptOutSource, name="donotcontact_source_valid"),
            models.CheckConstraint(
                condition=Q(phone_e164__startswith="+"), name="donotcontact_phone_is_e164"
            ),
        ]
        indexes = [models.Index(fields=["-added_at", "-id"], name="donotcontact_recent")]

    def __str__(self) -> str:
        return self.phone_e164


class StopMatch(models.TextChoices):
    ANYWHERE = "anywhere", _("anywhere in the reply")
    ALONE = "alone", _("the whole reply (courtesy words aside)")


class StopWord(models.Model):
    """A word or phrase that, in a debtor's reply, opts the debtor out.

    Matched on the reply normalised (case, accents, punctuation and spacing ignored); an
    `alone` phrase only when it is all the reply says, apart from courtesy words ("por
    favor", "please"): "no más" opts out, "no más tarde del viernes" does not.
    """

    phrase = models.CharField(max_length=60, unique=True, verbose_name=_("phrase"))
    language = models.CharField(
        max_length=8, help_text=_("ISO 639-1 code: en, es, pt"), verbose_name=_("language")
    )
    match = models.CharField(
        max_length=8, choices=StopMatch.choices, default=StopMatch.ANYWHERE, verbose_name=_("match")
    )
    enabled = models.BooleanField(default=True, verbose_name=_("enabled"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name_plural = _("STOP words")
        verbose_name = _("STOP word")
        ordering = ["language", "phrase"]
        constraints = [choices_check("match", StopMatch, name="stopword_match_valid")]

    def __str__(self) -> str:
        return f"{self.phrase} ({self.language})"
