"""Claiming: pending -> claimed, for the next message an account should send."""

import datetime
import functools
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from campaigns.engine.statements import literal, run, table
from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from debtors.models import Debtor
from sessions_app.models import PoolMember, WhatsAppSession

CAMPAIGNS_TTL_SECONDS = 1.0
REWIND_SECONDS = 10.0


@functools.cache
def _running_campaigns_sql() -> str:
    campaign, member = table(Campaign), table(PoolMember)
    return (
        f"SELECT id FROM {campaign} WHERE status = {literal(CampaignStatus.RUNNING)}"  # noqa: S608
        f" AND EXISTS (SELECT 1 FROM {member} WHERE {member}.pool_id = {campaign}.pool_id"
        f" AND {member}.session_id = %(session)s AND {member}.enabled) ORDER BY id"
    )


def _running_campaigns_for(session: WhatsAppSession) -> list[int]:
    """Running campaigns whose pool has this account as an enabled member."""
    return [row[0] for row in run(_running_campaigns_sql(), {"session": session.pk})[1]]


@dataclass
class ClaimScope:
    """Where an account's send loop claims from: its running campaigns, and past which id.

    The campaigns are re-read at most once a second while the account is busy. A stale
    list costs nothing unsafe: every claim re-checks that the campaign still runs, so a
    pause stops claims at once; a new campaign or pool membership is seen within
    CAMPAIGNS_TTL_SECONDS, or at once when the account has nothing else to do.

    Claims start past the last message this account claimed: every message claimed
    before it leaves a dead entry at the head of the pending index until VACUUM, and
    stepping over tens of thousands of them on every claim made a large campaign slower
    the further it got. The claims start from the head again when the campaigns change
    (a resumed campaign's messages lie behind that point), when nothing is left past it,
    and every REWIND_SECONDS for messages that became pending again behind it (a released
    claim, a retry). Rewinding on every re-read, once a second per account, walked the
    dead entries of the whole campaign so far twenty times a second.
    """

    campaign_ids: list[int] = field(default_factory=list)
    after: int = 0
    _expires: float = 0.0
    _rewinds: float = 0.0

    def refresh(self, session: WhatsAppSession) -> None:
        now = time.monotonic()
        if now >= self._expires:
            campaign_ids = _running_campaigns_for(session)
            if campaign_ids != self.campaign_ids:
                self.campaign_ids, self.after = campaign_ids, 0
            self._expires = now + CAMPAIGNS_TTL_SECONDS
        if now >= self._rewinds:
            self.after = 0
            self._rewinds = now + REWIND_SECONDS

    def forget(self) -> None:
        self._expires = 0.0


@functools.cache
def _claim_sql(campaigns: int) -> str:
    """pending -> claimed for this account's next message, returning what sending needs.

    Direct messages (an inbox answer, pre-assigned to the account carrying the chat) first,
    whatever campaigns run; then campaign messages pre-assigned to it (fixed or random
    turns), then the pool's open ones (competitive). SKIP LOCKED lets many hosts claim side
    by side without waiting.
    """
    message, debtor, campaign = table(Message), table(Debtor), table(Campaign)
    pending, claimed = literal(MessageStatus.PENDING), literal(MessageStatus.CLAIMED)
    running = literal(CampaignStatus.RUNNING)
    if connection.vendor == "postgresql":
        # Arrays even for one value: given `column = $1`, PostgreSQL treats the column as
        # constant, sees the primary key as already in order and may walk it through every
        # message sent so far. Ordered by the pending indexes' own keys, no plan but
        # walking one of those indexes from `after` can stop at the first row.
        among, owner = "= ANY(%(campaigns)s)", "= ANY(%(sessions)s)"
        lock = " FOR UPDATE SKIP LOCKED"
    else:  # SQLite: one writer at a time, nothing to lock or to outwit
        among = "IN (" + ", ".join(f"%(campaign{index})s" for index in range(campaigns)) + ")"
        owner, lock = "= %(session)s", ""

    def candidate(owned: str, order: str) -> str:
        return (
            f"(SELECT candidate.id FROM {message} AS candidate WHERE {owned}"  # noqa: S608
            f" AND candidate.status = {pending} AND candidate.campaign_id {among}"
            f" AND candidate.id > %(after)s ORDER BY {order} LIMIT 1{lock})"
        )

    def debtors(column: str) -> str:
        return f"(SELECT {column} FROM {debtor} WHERE {debtor}.id = {message}.debtor_id)"  # noqa: S608

    direct = (
        f"(SELECT candidate.id FROM {message} AS candidate"  # noqa: S608
        f" WHERE candidate.assigned_session_id {owner} AND candidate.status = {pending}"
        " AND candidate.campaign_id IS NULL"
        f" ORDER BY candidate.assigned_session_id, candidate.id LIMIT 1{lock})"
    )
    assigned = candidate(
        f"candidate.assigned_session_id {owner}", "candidate.assigned_session_id, candidate.id"
    )
    pooled = candidate(
        "candidate.assigned_session_id IS NULL", "candidate.campaign_id, candidate.id"
    )
    # No aliases for the updated table and no join: SQLite refuses both in RETURNING.
    return (
        f"UPDATE {message} SET status = {claimed}, session_id = %(session)s,"  # noqa: S608
        " claimed_at = %(now)s, lease_until = %(lease)s, updated_at = %(now)s"
        f" WHERE {message}.status = {pending}"
        f" AND id = COALESCE({direct}, {assigned}, {pooled})"
        # Pause stops new claims at once, whatever the caller believes is running.
        f" AND ({message}.campaign_id IS NULL OR EXISTS (SELECT 1 FROM {campaign}"
        f" WHERE {campaign}.id = {message}.campaign_id AND {campaign}.status = {running}))"
        f" RETURNING id, campaign_id, debtor_id, body, attempts, {debtors('phone_e164')},"
        f" {debtors('opted_out')}, {debtors('on_whatsapp')}, kind"
    )


@dataclass(frozen=True)
class Claim:
    """A claimed message and what sending it takes (lighter to build than a Message)."""

    pk: int
    campaign_id: int | None  # None: a direct message
    debtor_id: int
    body: str
    attempts: int
    phone_e164: str
    opted_out: bool
    on_whatsapp: str
    kind: str


def claim_next(
    session: WhatsAppSession, campaign_ids: list[int], now: datetime.datetime, *, after: int = 0
) -> Claim | None:
    """Run inside a transaction: pending -> claimed, leased from `now`."""
    lease = now + datetime.timedelta(seconds=settings.ENGINE_CLAIM_LEASE_SECONDS)
    params: dict[str, Any] = {
        "session": session.pk,
        "now": now,
        "lease": lease,
        "after": after,
    }
    if connection.vendor == "postgresql":
        params.update(sessions=[session.pk], campaigns=campaign_ids)
    else:
        params.update({f"campaign{index}": pk for index, pk in enumerate(campaign_ids)})
    _, rows = run(_claim_sql(len(campaign_ids)), params)
    return Claim(*rows[0]) if rows else None
