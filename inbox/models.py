from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext_lazy as _

from campaigns.models import Message
from campaigns.templating import TEMPLATE_MAX_CHARS
from debtors.models import Debtor
from sessions_app.models import WhatsAppSession

PREVIEW_CHARS = 200


class Conversation(models.Model):
    """Everything exchanged with one debtor, whichever accounts carried it."""

    debtor = models.OneToOneField(Debtor, on_delete=models.CASCADE, related_name="conversation")
    last_activity_at = models.DateTimeField()
    last_incoming_at = models.DateTimeField(null=True, blank=True)
    preview = models.CharField(max_length=PREVIEW_CHARS, blank=True, help_text=_("Latest text"))
    unread_count = models.PositiveIntegerField(default=0)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    last_session = models.ForeignKey(
        WhatsAppSession,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversations",
        help_text=_("The account the debtor last exchanged messages with"),
    )

    class Meta:
        ordering = ["-last_activity_at", "-id"]
        permissions = [("answer_conversation", "Can answer, assign and release conversations")]
        indexes = [
            models.Index(fields=["-last_activity_at", "-id"], name="conversation_activity"),
            models.Index(
                fields=["-last_activity_at", "-id"],
                condition=Q(unread_count__gt=0),
                name="conversation_unread",
            ),
        ]

    def __str__(self) -> str:
        return f"Conversation with {self.debtor}"


class IncomingMessage(models.Model):
    """One message a debtor sent to one of the accounts."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="incoming"
    )
    session = models.ForeignKey(
        WhatsAppSession,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="incoming_messages",
        help_text=_("Account that received it"),
    )
    in_reply_to = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="replies",
        help_text=_("The debtor's latest message from that account, which this answers"),
    )
    sender_phone = models.CharField(max_length=32, blank=True)
    sender_lid = models.CharField("sender LID", max_length=64, blank=True)
    text = models.TextField(blank=True)
    media = models.CharField(
        max_length=30, blank=True, help_text=_("What a message that is not text carried")
    )
    wa_message_id = models.CharField("WhatsApp message id", max_length=128, blank=True)
    received_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["received_at", "id"]
        constraints = [
            # A message polled twice (a host restarting, a page reloading) is stored once.
            models.UniqueConstraint(
                fields=["session", "wa_message_id"],
                condition=~Q(wa_message_id=""),
                name="incoming_once_per_account",
            ),
        ]
        indexes = [
            models.Index(fields=["conversation", "received_at"], name="incoming_conversation"),
        ]

    def __str__(self) -> str:
        return f"{self.sender_phone or self.sender_lid}: {self.text[:40]}"


class QuickReply(models.Model):
    """A saved answer; placeholders ({name}, {amount}...) are filled in for the debtor."""

    title = models.CharField(max_length=100, unique=True)
    text = models.TextField(max_length=TEMPLATE_MAX_CHARS)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quick_replies",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["title"]
        verbose_name = _("quick reply")
        verbose_name_plural = _("quick replies")
        constraints = [
            models.CheckConstraint(
                condition=LessThanOrEqual(Length("text"), TEMPLATE_MAX_CHARS),
                name="quickreply_text_max_length",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ConversationNote(models.Model):
    """Something the system did in a conversation that the operators must see in its thread."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="notes")
    message = models.ForeignKey(
        Message,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="conversation_notes",
        help_text="The message the note is about",
    )
    text = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["conversation", "created_at"], name="note_conversation")]

    def __str__(self) -> str:
        return self.text[:40]
