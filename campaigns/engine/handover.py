"""Accounts dropping out: their pre-assigned messages move to the rest of the pool."""

import enum
import logging
import random

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from inbox.services import conversation_notes_add
from sessions_app.models import Pool, PoolMember, PoolStrategy, SessionStatus, WhatsAppSession
from webhooks.models import EventType
from webhooks.services import message_events_emit

logger = logging.getLogger(__name__)

# Accounts in these states cannot take over another account's messages.
UNUSABLE_STATUSES = [
    SessionStatus.DISCONNECTED,
    SessionStatus.LOGGED_OUT,
    SessionStatus.BANNED,
    SessionStatus.RESTRICTED,
    SessionStatus.ERROR,
]


class NobodyLeft(enum.Enum):
    """What happens to an account's pre-assigned messages when no other member can send."""

    # The account dropped out (disconnected, banned...) but is still a member: the messages
    # wait for it, or for another member to come back.
    KEEP = "keep"
    # The account left the pool (or was disabled in it): it will never claim them, so they
    # become open to whichever member the pool gets next.
    RELEASE = "release"


def _pool_members_left(*, pool_id: int, without_session_id: int) -> list[PoolMember]:
    """The pool's enabled members that can still send, in pool order, but for one account."""
    return list(
        PoolMember.objects.filter(pool_id=pool_id, enabled=True)
        .exclude(session_id=without_session_id)
        .exclude(session__status__in=UNUSABLE_STATUSES)
        .order_by("position", "id")
    )


@transaction.atomic
def messages_hand_over(
    *, session: WhatsAppSession, nobody_left: NobodyLeft, pool: Pool | None = None
) -> int:
    """Hand an account's unsent pre-assigned messages to the rest of their pools.

    Only the campaigns of `pool` when given (the account left that pool), else every running
    or paused campaign the account holds messages of (the account dropped out). Fixed turns
    go round robin over the remaining enabled members, random turns by weight; with nobody
    left, `nobody_left` decides. Returns how many messages moved.
    """
    campaigns = Campaign.objects.filter(
        status__in=[CampaignStatus.RUNNING, CampaignStatus.PAUSED],
        messages__assigned_session=session,
        messages__status=MessageStatus.PENDING,
    ).distinct()
    if pool is not None:
        campaigns = campaigns.filter(pool=pool)
    moved = released = 0
    if pool is None:
        moved += _direct_messages_hand_over(session=session)
    # Pools in one order: two accounts dropping out at once lock them alike, never crosswise.
    for campaign in campaigns.select_related("pool").order_by("pool_id", "id"):
        # The pool's row lock is the one its member edits take: a member removed meanwhile
        # cannot be handed messages it would never claim.
        Pool.objects.select_for_update().filter(pk=campaign.pool_id).first()
        orphans = Message.objects.filter(
            campaign=campaign, assigned_session=session, status=MessageStatus.PENDING
        )
        members = _pool_members_left(pool_id=campaign.pool_id, without_session_id=session.pk)
        if members:
            moved += _hand_to(messages=orphans, strategy=campaign.pool.strategy, members=members)
        elif nobody_left is NobodyLeft.RELEASE:
            released += orphans.update(assigned_session=None)
    if moved:
        logger.warning(
            "%d message(s) of %s moved to the other accounts of their pools",
            moved,
            session.name,
            extra={"session_id": session.pk},
        )
    if released:
        logger.warning(
            "%d message(s) of %s left for whichever account their pools get next",
            released,
            session.name,
            extra={"session_id": session.pk},
        )
    return moved + released


# An account in these states will not come back without a new scan: the answers and
# confirmations waiting for it go through another account rather than never.
GONE_STATUSES = [SessionStatus.LOGGED_OUT, SessionStatus.BANNED]


def _direct_messages_hand_over(*, session: WhatsAppSession) -> int:
    """An account that is gone hands its unsent direct messages to a connected account of
    one of its pools, or fails them when none is left; each conversation gets a note.

    An account only disconnected keeps them: it comes back without a new scan, and the
    debtor is answered from the number they wrote to.
    """
    gone = WhatsAppSession.objects.filter(
        Q(status__in=GONE_STATUSES) | Q(logout_requested=True), pk=session.pk
    ).exists()
    if not gone:
        return 0
    orphans = list(
        Message.objects.select_for_update()
        .filter(campaign=None, assigned_session=session, status=MessageStatus.PENDING)
        .order_by("id")
    )
    if not orphans:
        return 0
    member = (
        PoolMember.objects.filter(
            enabled=True,
            pool__members__session=session,
            session__status=SessionStatus.CONNECTED,
            session__logout_requested=False,
        )
        .exclude(session=session)
        .select_related("session")
        .order_by("pool_id", "position", "id")
        .first()
    )
    heir = member.session if member is not None else None
    now = timezone.now()
    ids = [message.pk for message in orphans]
    pending = Message.objects.filter(pk__in=ids, status=MessageStatus.PENDING)
    if heir is not None:
        pending.update(assigned_session=heir, updated_at=now)
        note = gettext(
            "%(account)s is logged out: this message goes out through %(heir)s instead."
        ) % {"account": session.name, "heir": heir.name}
        logger.warning(
            "%d direct message(s) of %s handed to %s",
            len(ids),
            session.name,
            heir.name,
            extra={"session_id": session.pk},
        )
    else:
        note = gettext(
            "%(account)s is logged out and no other account of its pools is connected:"
            " this message was not sent."
        ) % {"account": session.name}
        failed = list(pending.values_list("pk", flat=True))
        pending.update(status=MessageStatus.FAILED, last_error=note, failed_at=now, updated_at=now)
        message_events_emit([(EventType.MESSAGE_FAILED, pk) for pk in failed])
        logger.error(
            "%d direct message(s) of %s failed: no connected account left in its pools",
            len(ids),
            session.name,
            extra={"session_id": session.pk},
        )
    conversation_notes_add(notes=[(message, note) for message in orphans])
    return len(ids) if heir is not None else 0


def _hand_to(*, messages: QuerySet[Message], strategy: str, members: list[PoolMember]) -> int:
    """Pre-assign these pending messages over `members` by the pool's strategy."""
    ids = list(messages.values_list("id", flat=True))
    moved = 0
    for member, chunk in assign_members(strategy, members, ids).items():
        # Still the messages read above: pending, and not handed on meanwhile.
        moved += messages.filter(pk__in=chunk).update(assigned_session_id=member)
    return moved


def assign_members(
    strategy: str, members: list[PoolMember], ids: list[int], *, start: int = 0
) -> dict[int, list[int]]:
    """Split message ids among members: round robin for fixed turns, by weight for random.

    `start` continues a round robin begun in an earlier batch.
    """
    chunks: dict[int, list[int]] = {member.session_id: [] for member in members}
    if strategy == PoolStrategy.RANDOM_TURNS:
        picks = random.choices(
            [member.session_id for member in members],
            weights=[member.weight for member in members],
            k=len(ids),
        )
        for message_id, session_id in zip(ids, picks, strict=True):
            chunks[session_id].append(message_id)
    else:
        for index, message_id in enumerate(ids):
            chunks[members[(start + index) % len(members)].session_id].append(message_id)
    return chunks
