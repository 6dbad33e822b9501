"""Accounts dropping out: their pre-assigned messages move to the rest of the pool."""

import logging
import random

from django.db import transaction
from django.db.models import QuerySet

from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from sessions_app.models import PoolMember, PoolStrategy, SessionStatus, WhatsAppSession

logger = logging.getLogger(__name__)

# Accounts in these states cannot take over another account's messages.
UNUSABLE_STATUSES = [
    SessionStatus.DISCONNECTED,
    SessionStatus.LOGGED_OUT,
    SessionStatus.BANNED,
    SessionStatus.RESTRICTED,
    SessionStatus.ERROR,
]


def pool_members_left(*, pool_id: int, without_session_id: int) -> list[PoolMember]:
    """The pool's enabled members that can still send, in pool order, but for one account."""
    return list(
        PoolMember.objects.filter(pool_id=pool_id, enabled=True)
        .exclude(session_id=without_session_id)
        .exclude(session__status__in=UNUSABLE_STATUSES)
        .order_by("position", "id")
    )


def messages_hand_to(
    *, messages: QuerySet[Message], strategy: str, members: list[PoolMember]
) -> int:
    """Pre-assign these pending messages over `members` by the pool's strategy."""
    ids = list(messages.values_list("id", flat=True))
    moved = 0
    for member, chunk in assign_members(strategy, members, ids).items():
        moved += Message.objects.filter(pk__in=chunk, status=MessageStatus.PENDING).update(
            assigned_session_id=member
        )
    return moved


@transaction.atomic
def messages_reassign_from(*, session: WhatsAppSession) -> int:
    """Hand an account's unsent pre-assigned messages to the rest of each pool.

    Fixed turns go round robin over the remaining enabled members, random turns by weight.
    With no other usable member the messages stay where they are and the campaign waits.
    """
    moved = 0
    campaigns = Campaign.objects.filter(
        status__in=[CampaignStatus.RUNNING, CampaignStatus.PAUSED],
        messages__assigned_session=session,
        messages__status=MessageStatus.PENDING,
    ).distinct()
    for campaign in campaigns.select_related("pool"):
        members = pool_members_left(pool_id=campaign.pool_id, without_session_id=session.pk)
        if not members:
            continue
        moved += messages_hand_to(
            messages=Message.objects.filter(
                campaign=campaign, assigned_session=session, status=MessageStatus.PENDING
            ),
            strategy=campaign.pool.strategy,
            members=members,
        )
    if moved:
        logger.warning(
            "%d message(s) of %s moved to the other accounts of their pools",
            moved,
            session.name,
            extra={"session_id": session.pk},
        )
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
