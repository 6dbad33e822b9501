"""Reads for the inbox: the conversation list, one conversation's thread, quick replies."""

import datetime
from dataclasses import dataclass

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Case, IntegerField, OuterRef, Q, QuerySet, Subquery, Value, When

from campaigns.models import Message
from campaigns.templating import MessageTemplate
from debtors.selectors import debtor_search
from inbox.models import Conversation, ConversationNote, IncomingMessage, QuickReply
from sessions_app.models import WhatsAppSession

ANSWER = "inbox.answer_conversation"
# The newest entries a conversation page shows.
THREAD_LIMIT = 200


@dataclass(frozen=True)
class InboxFilters:
    """What the inbox list is narrowed to; every field empty: all conversations."""

    assigned: str = ""  # "mine", "unassigned" or ""
    campaign_id: int | None = None
    session_id: int | None = None
    opted_out: bool = False
    q: str = ""


def conversation_list(
    *, user: AbstractBaseUser | AnonymousUser, filters: InboxFilters
) -> QuerySet[Conversation]:
    """Conversations with unread replies first, then by their latest activity."""
    conversations = Conversation.objects.select_related("debtor", "assigned_to", "last_session")
    if filters.assigned == "mine":
        conversations = conversations.filter(assigned_to_id=user.pk)
    elif filters.assigned == "unassigned":
        conversations = conversations.filter(assigned_to__isnull=True)
    if filters.campaign_id is not None:
        conversations = conversations.filter(
            debtor__in=Message.objects.filter(campaign_id=filters.campaign_id).values("debtor_id")
        )
    if filters.session_id is not None:
        conversations = conversations.filter(last_session_id=filters.session_id)
    if filters.opted_out:
        conversations = conversations.filter(debtor__opted_out=True)
    if filters.q.strip():
        conversations = conversations.filter(debtor__in=debtor_search(q=filters.q).values("pk"))
    unread_first = Case(
        When(unread_count__gt=0, then=Value(0)), default=Value(1), output_field=IntegerField()
    )
    return conversations.order_by(unread_first, "-last_activity_at", "-id")


def inbox_unread_count(*, user: AbstractBaseUser | AnonymousUser) -> int:
    """How many conversations `user` can act on (theirs or nobody's) hold unopened replies."""
    return (
        Conversation.objects.filter(unread_count__gt=0)
        .filter(Q(assigned_to__isnull=True) | Q(assigned_to_id=user.pk))
        .count()
    )


def conversation_for_debtor(*, debtor_id: int) -> Conversation | None:
    return Conversation.objects.filter(debtor_id=debtor_id).first()


@dataclass(frozen=True)
class ThreadEntry:
    """One line of a conversation: a message we sent, one the debtor sent, or a note."""

    at: datetime.datetime
    outgoing: Message | None = None
    incoming: IncomingMessage | None = None
    note: ConversationNote | None = None


def conversation_thread(*, conversation: Conversation) -> list[ThreadEntry]:
    """The latest THREAD_LIMIT messages both ways and notes, oldest first."""
    outgoing = (
        Message.objects.filter(debtor_id=conversation.debtor_id)
        .select_related("campaign", "session", "assigned_session")
        .order_by("-created_at", "-id")[:THREAD_LIMIT]
    )
    incoming = conversation.incoming.select_related("session").order_by("-received_at", "-id")[
        :THREAD_LIMIT
    ]
    entries = [ThreadEntry(at=m.sent_at or m.created_at, outgoing=m) for m in outgoing]
    entries += [ThreadEntry(at=m.received_at, incoming=m) for m in incoming]
    notes = conversation.notes.order_by("-created_at", "-id")[:THREAD_LIMIT]
    entries += [ThreadEntry(at=note.created_at, note=note) for note in notes]
    entries.sort(key=lambda entry: entry.at)
    return entries[-THREAD_LIMIT:]


def conversation_sticky_session(*, conversation: Conversation) -> WhatsAppSession | None:
    """The account that last wrote to the debtor; else the one the debtor last wrote to."""
    latest = (
        Message.objects.filter(debtor_id=conversation.debtor_id, session__isnull=False)
        .exclude(sent_at=None)
        .select_related("session")
        .order_by("-sent_at", "-id")
        .first()
    )
    if latest is not None and latest.session is not None:
        return latest.session
    return conversation.last_session


def conversation_operators() -> QuerySet[User]:
    """Active users who may take a conversation (Operators, Supervisors, Admins)."""
    app_label, codename = ANSWER.split(".")
    holds = Q(
        groups__permissions__content_type__app_label=app_label,
        groups__permissions__codename=codename,
    ) | Q(user_permissions__content_type__app_label=app_label, user_permissions__codename=codename)
    return (
        User.objects.filter(holds | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("username")
    )


def messages_with_latest_reply(messages: QuerySet[Message]) -> QuerySet[Message]:
    """`messages` with `reply_text` and `replied_at`: the latest reply each one received."""
    latest = IncomingMessage.objects.filter(in_reply_to=OuterRef("pk")).order_by(
        "-received_at", "-id"
    )
    return messages.annotate(
        reply_text=Subquery(latest.values("text")[:1]),
        replied_at=Subquery(latest.values("received_at")[:1]),
    )


def quick_reply_list() -> QuerySet[QuickReply]:
    return QuickReply.objects.all()


def quick_reply_render(*, quick_reply: QuickReply, conversation: Conversation) -> str:
    """The quick reply's text with the debtor's values in its placeholders."""
    return MessageTemplate(quick_reply.text).render(conversation.debtor)
