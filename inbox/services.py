"""Writes for the inbox: replies received, answers queued, assignment, quick replies."""

import datetime
import logging
from collections.abc import Sequence

from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from campaigns.models import Message, MessageKind, MessageStatus
from campaigns.templating import TEMPLATE_MAX_CHARS, TemplateError, template_check
from debtors.models import Debtor
from inbox.models import PREVIEW_CHARS, Conversation, ConversationNote, IncomingMessage, QuickReply
from inbox.selectors import ANSWER, conversation_sticky_session
from sessions_app.drivers.base import IncomingMessage as Received
from sessions_app.models import WhatsAppSession
from whatsmassive import realtime
from whatsmassive.roles import Actor, may, require

logger = logging.getLogger(__name__)

# What a media message shows in the thread when it came without a caption.
MEDIA_PLACEHOLDER = "[{media}]"


class AnswerRefused(Exception):
    """The answer cannot be queued; the message says why, for the operator."""


class AssignmentConflict(Exception):
    """Someone else changed the conversation's assignment first."""


def _preview(text: str, media: str = "") -> str:
    return (text or MEDIA_PLACEHOLDER.format(media=media))[:PREVIEW_CHARS]


def _conversations_for(
    debtor_ids: set[int], at: dict[int, datetime.datetime]
) -> dict[int, Conversation]:
    """The debtors' conversations, created for those who have none yet."""
    found = {c.debtor_id: c for c in Conversation.objects.filter(debtor_id__in=debtor_ids)}
    missing = debtor_ids - found.keys()
    if missing:
        Conversation.objects.bulk_create(
            [Conversation(debtor_id=pk, last_activity_at=at[pk]) for pk in missing],
            ignore_conflicts=True,
        )
        found.update((c.debtor_id, c) for c in Conversation.objects.filter(debtor_id__in=missing))
    return found


@transaction.atomic
def incoming_messages_record(
    *, session: WhatsAppSession, incoming: Sequence[tuple[Received, int, int | None]]
) -> list[tuple[Received, int]]:
    """Store what debtors sent to `session`: (message, debtor id, id of the message it answers).

    Returns the messages stored now with their debtor, in order; one WhatsApp already
    reported (same id, same account) is left out, so it is acted on once.
    """
    ids = [received.wa_message_id for received, _, _ in incoming if received.wa_message_id]
    known = set(
        IncomingMessage.objects.filter(session=session, wa_message_id__in=ids).values_list(
            "wa_message_id", flat=True
        )
    )
    fresh: list[tuple[Received, int, int | None]] = []
    for received, debtor_id, answers in incoming:
        if received.wa_message_id:
            if received.wa_message_id in known:
                continue
            known.add(received.wa_message_id)
        fresh.append((received, debtor_id, answers))
    if not fresh:
        return []
    first_at = {debtor_id: received.received_at for received, debtor_id, _ in reversed(fresh)}
    conversations = _conversations_for(set(first_at), first_at)
    IncomingMessage.objects.bulk_create(
        IncomingMessage(
            conversation=conversations[debtor_id],
            session=session,
            in_reply_to_id=answers,
            sender_phone=received.phone_e164,
            sender_lid=received.lid,
            text=received.text[:TEMPLATE_MAX_CHARS],
            media=received.media[:30],
            wa_message_id=received.wa_message_id,
            received_at=received.received_at,
        )
        for received, debtor_id, answers in fresh
    )
    latest: dict[int, Received] = {}
    counts: dict[int, int] = {}
    for received, debtor_id, _ in fresh:
        counts[debtor_id] = counts.get(debtor_id, 0) + 1
        if debtor_id not in latest or received.received_at >= latest[debtor_id].received_at:
            latest[debtor_id] = received
    for debtor_id, received in latest.items():
        conversation = conversations[debtor_id]
        at = max(received.received_at, conversation.last_activity_at)
        Conversation.objects.filter(pk=conversation.pk).update(
            unread_count=F("unread_count") + counts[debtor_id],
            last_activity_at=at,
            last_incoming_at=received.received_at,
            preview=_preview(received.text, received.media),
            last_session=session,
        )
    realtime.conversations_changed(c.pk for c in conversations.values())
    return [(received, debtor_id) for received, debtor_id, _ in fresh]


@transaction.atomic
def conversation_mark_seen(*, conversation: Conversation, by: Actor) -> None:
    """The operator opened the conversation: its replies are no longer unread.

    Only in this app: WhatsApp is told nothing (no read receipt) until someone answers.
    """
    require(by, "inbox.view_conversation")
    if Conversation.objects.filter(pk=conversation.pk, unread_count__gt=0).update(unread_count=0):
        conversation.unread_count = 0
        realtime.conversations_changed([conversation.pk])


@transaction.atomic
def direct_message_queue(
    *, debtor: Debtor, session: WhatsAppSession | None, text: str, kind: MessageKind, by: Actor
) -> Message:
    """Queue one message to one debtor through `session`, the account carrying the chat.

    It goes through the engine like a campaign's: pre-assigned to the account, claimed by
    its send loop ahead of campaign messages, paced, skipped at claim if the debtor opted
    out meanwhile. An opted-out debtor is refused here, except for the confirmation of
    that opt-out.
    """
    require(by, ANSWER)
    if kind == MessageKind.CAMPAIGN:
        raise ValueError("campaign messages are created by campaign_start")
    text = text.strip()
    if not text:
        raise AnswerRefused(gettext("Write the answer first: an empty message is not sent."))
    if len(text) > TEMPLATE_MAX_CHARS:
        raise AnswerRefused(
            f"The answer has {len(text):,} characters; at most {TEMPLATE_MAX_CHARS:,} are sent."
        )
    debtor = Debtor.objects.select_for_update().get(pk=debtor.pk)
    if debtor.opted_out and kind != MessageKind.CONFIRMATION:
        raise AnswerRefused(
            f"{debtor.name} opted out: no message may be sent to them from the app."
        )
    if session is None:
        raise AnswerRefused(
            f"No account has written to {debtor.name} yet: there is no chat to answer in."
        )
    now = timezone.now()
    message = Message.objects.create(
        kind=kind,
        campaign=None,
        debtor=debtor,
        assigned_session=session,
        body=text,
        status=MessageStatus.PENDING,
    )
    conversation = _conversations_for({debtor.pk}, {debtor.pk: now})[debtor.pk]
    Conversation.objects.filter(pk=conversation.pk).update(
        last_activity_at=now, preview=_preview(text), last_session=session
    )
    logger.info(
        "%s message %s queued to %s through %s",
        kind.label,
        message.pk,
        debtor.phone_e164,
        session.name,
        extra={"message_id": message.pk, "session_id": session.pk, "by": str(by or "system")},
    )
    realtime.conversations_changed([conversation.pk])
    return message


@transaction.atomic
def conversation_notes_add(*, notes: Sequence[tuple[Message, str]]) -> None:
    """Tell the operators, in each message's conversation, what the system did with it."""
    if not notes:
        return
    now = timezone.now()
    debtor_ids = {message.debtor_id for message, _ in notes}
    conversations = _conversations_for(debtor_ids, dict.fromkeys(debtor_ids, now))
    ConversationNote.objects.bulk_create(
        ConversationNote(conversation=conversations[message.debtor_id], message=message, text=text)
        for message, text in notes
    )
    realtime.conversations_changed(c.pk for c in conversations.values())


@transaction.atomic
def conversation_answer(*, conversation: Conversation, text: str, by: Actor) -> Message:
    """An operator's answer, through the account that last wrote to the debtor."""
    message = direct_message_queue(
        debtor=conversation.debtor,
        session=conversation_sticky_session(conversation=conversation),
        text=text,
        kind=MessageKind.REPLY,
        by=by,
    )
    Conversation.objects.filter(pk=conversation.pk).update(unread_count=0)
    return message


def _user(by: Actor) -> User:
    if not isinstance(by, User):
        raise PermissionDenied(gettext("Only a person takes a conversation."))
    return by


@transaction.atomic
def conversation_claim(*, conversation: Conversation, by: Actor) -> None:
    """Assign an unassigned conversation to `by`; AssignmentConflict if someone was first."""
    require(by, ANSWER)
    user = _user(by)
    taken = Conversation.objects.filter(pk=conversation.pk, assigned_to__isnull=True).update(
        assigned_to=user, assigned_at=timezone.now()
    )
    if not taken:
        current = Conversation.objects.select_related("assigned_to").get(pk=conversation.pk)
        if current.assigned_to_id == user.pk:
            return
        raise AssignmentConflict(
            gettext("%(user)s took this conversation first.") % {"user": current.assigned_to}
            if current.assigned_to
            else gettext("The conversation changed meanwhile: try again.")
        )
    realtime.conversations_changed([conversation.pk])


@transaction.atomic
def conversation_hand_over(*, conversation: Conversation, to: User, by: Actor) -> None:
    """Give the conversation to another operator (who must be able to answer it)."""
    require(by, ANSWER)
    if not may(to, ANSWER):
        raise AssignmentConflict(
            gettext("%(user)s cannot answer conversations: choose an operator.") % {"user": to}
        )
    Conversation.objects.filter(pk=conversation.pk).update(
        assigned_to_id=to.pk, assigned_at=timezone.now()
    )
    realtime.conversations_changed([conversation.pk])


@transaction.atomic
def conversation_release(*, conversation: Conversation, by: Actor) -> None:
    """Nobody is responsible for the conversation any more: it is back among the unassigned."""
    require(by, ANSWER)
    Conversation.objects.filter(pk=conversation.pk).update(assigned_to=None, assigned_at=None)
    realtime.conversations_changed([conversation.pk])


def _checked_quick_reply(title: str, text: str) -> tuple[str, str]:
    title, text = title.strip(), text.strip()
    if not title or not text:
        raise ValidationError(gettext("A quick reply needs a title and a text."))
    try:
        template_check(text)
    except TemplateError as exc:
        raise ValidationError(str(exc)) from exc
    return title, text


@transaction.atomic
def quick_reply_create(*, title: str, text: str, by: Actor) -> QuickReply:
    require(by, "inbox.add_quickreply")
    title, text = _checked_quick_reply(title, text)
    if QuickReply.objects.filter(title=title).exists():
        raise ValidationError(
            gettext("A quick reply titled “%(title)s” exists already.") % {"title": title}
        )
    return QuickReply.objects.create(
        title=title, text=text, created_by=by if isinstance(by, User) else None
    )


@transaction.atomic
def quick_reply_update(*, quick_reply: QuickReply, title: str, text: str, by: Actor) -> QuickReply:
    require(by, "inbox.change_quickreply")
    title, text = _checked_quick_reply(title, text)
    if QuickReply.objects.filter(title=title).exclude(pk=quick_reply.pk).exists():
        raise ValidationError(
            gettext("A quick reply titled “%(title)s” exists already.") % {"title": title}
        )
    quick_reply.title, quick_reply.text = title, text
    quick_reply.save(update_fields=["title", "text", "updated_at"])
    return quick_reply


@transaction.atomic
def quick_reply_delete(*, quick_reply: QuickReply, by: Actor) -> None:
    require(by, "inbox.delete_quickreply")
    quick_reply.delete()
