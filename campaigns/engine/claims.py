"""Claiming: pending -> claimed, for the next message an account should send."""

import datetime
import functools
import json
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import connection

from campaigns.engine.statements import literal, run, table
from campaigns.engine.windows import OpenWindow, OpenWindows, open_windows
from campaigns.models import ZONE_GROUPS, Campaign, CampaignStatus, Message, MessageStatus
from debtors.models import Debtor, DoNotContact
from sessions_app.models import AccountChat, PoolMember, WhatsAppSession

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


def _with_policies(campaign_ids: list[int]) -> list[Campaign]:
    if not campaign_ids:
        return []
    return list(
        Campaign.objects.filter(pk__in=campaign_ids).select_related("policy").order_by("id")
    )


@dataclass
class ClaimScope:
    """Where an account's send loop claims from: its running campaigns' open zone groups,
    and past which id.

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

    The campaigns' contact policies are re-read with them, and which of their zone groups
    are open is worked out again then and whenever a window may open or close.
    """

    campaign_ids: list[int] = field(default_factory=list)
    after: int = 0
    windows: OpenWindows = field(
        default_factory=lambda: OpenWindows(
            windows=[], until=datetime.datetime.min.replace(tzinfo=datetime.UTC)
        )
    )
    _campaigns: list[Campaign] = field(default_factory=list)
    _expires: float = 0.0
    _rewinds: float = 0.0

    def refresh(self, session: WhatsAppSession, now: datetime.datetime) -> None:
        """`now` is the clock the policies are read against (whatsmassive.clock)."""
        ticks = time.monotonic()
        if ticks >= self._expires:
            campaign_ids = _running_campaigns_for(session)
            if campaign_ids != self.campaign_ids:
                self.campaign_ids, self.after = campaign_ids, 0
            self._campaigns = _with_policies(campaign_ids)
            self.windows = open_windows(self._campaigns, now)
            self._expires = ticks + CAMPAIGNS_TTL_SECONDS
        elif now >= self.windows.until:
            self.windows, self.after = open_windows(self._campaigns, now), 0
        if ticks >= self._rewinds:
            self.after = 0
            self._rewinds = ticks + REWIND_SECONDS

    def forget(self) -> None:
        self._expires = 0.0


# The message's zone window, spelled as the pending index spells it (see Message.Meta).
_WINDOW = f"(candidate.campaign_id * {ZONE_GROUPS} + candidate.zone_group)"
# Statuses in which a message counts as a contact of its debtor, for the caps.
CONTACTED_STATUSES = (
    MessageStatus.CLAIMED,
    MessageStatus.SENDING,
    MessageStatus.SENT,
    MessageStatus.DELIVERED,
    MessageStatus.READ,
    MessageStatus.UNKNOWN,
)
# The advisory lock class of "a claim is deciding about this debtor's caps".
CONTACT_LOCK = 1006


def _contacts_since(since: str) -> str:
    """How often the candidate's debtor was contacted since `since`, every campaign counted."""
    message = table(Message)
    statuses = ", ".join(literal(status) for status in CONTACTED_STATUSES)
    return (
        f"(SELECT count(*) FROM {message} AS contact"  # noqa: S608
        " WHERE contact.debtor_id = candidate.debtor_id"
        f" AND contact.status IN ({statuses})"
        f" AND COALESCE(contact.claimed_at, contact.sent_at) >= {since})"
    )


def _policy_condition(*, caps: bool) -> str:
    """The candidate's zone group is open now and, when the open windows carry caps, its
    debtor is under them.

    On PostgreSQL the open windows are arrays: membership in the first leads the pending
    index, the caps are looked up beside it. A claim deciding about a debtor's caps holds
    an advisory lock on that debtor until it commits (with the message claimed, which then
    counts): a second account claiming for the same debtor at once skips that message, as
    SKIP LOCKED skips a locked row, instead of counting the same contacts and exceeding the
    cap with it. SQLite has one writer at a time and takes the windows as JSON.
    """
    if connection.vendor == "postgresql":
        membership = f"{_WINDOW} = ANY(%(windows)s::bigint[])"
        if not caps:
            return membership
        return (
            f"{membership} AND EXISTS (SELECT 1 FROM unnest(%(windows)s::bigint[],"  # noqa: S608
            " %(day_starts)s::timestamptz[], %(day_caps)s::int[],"
            " %(period_starts)s::timestamptz[], %(period_caps)s::int[])"
            " AS open_window(key, day_start, day_cap, period_start, period_cap)"
            f" WHERE open_window.key = {_WINDOW} AND (open_window.day_cap = 0"
            " AND open_window.period_cap = 0 OR"
            f" pg_try_advisory_xact_lock({CONTACT_LOCK}, (candidate.debtor_id %% 2147483647)::int)"
            " AND (open_window.day_cap = 0"
            f" OR {_contacts_since('open_window.day_start')} < open_window.day_cap)"
            " AND (open_window.period_cap = 0"
            f" OR {_contacts_since('open_window.period_start')} < open_window.period_cap)))"
        )
    field = "json_extract(open_window.value, '$[{}]')".format
    return (
        "EXISTS (SELECT 1 FROM json_each(%(windows)s) AS open_window"  # noqa: S608
        f" WHERE {field(0)} = {_WINDOW} AND ({field(2)} = 0"
        f" OR {_contacts_since(field(1))} < {field(2)})"
        f" AND ({field(4)} = 0 OR {_contacts_since(field(3))} < {field(4)}))"
    )


def _known_chat() -> str:
    """The candidate's number is one the account already has a chat with (account safety:
    its new-chat budget for today is spent)."""
    chat, debtor = table(AccountChat), table(Debtor)
    return (
        f" AND EXISTS (SELECT 1 FROM {chat} AS chat WHERE chat.session_id = %(session)s"  # noqa: S608
        f" AND chat.phone_e164 = (SELECT {debtor}.phone_e164 FROM {debtor}"
        f" WHERE {debtor}.id = candidate.debtor_id))"
    )


@functools.cache
def _claim_sql(caps: bool, known_only: bool = False) -> str:
    """pending -> claimed for this account's next message, returning what sending needs.

    Direct messages (an inbox answer, pre-assigned to the account carrying the chat) first,
    whatever campaigns run and outside the policies' windows (the debtor wrote first); then
    campaign messages pre-assigned to it (fixed or random turns), then the pool's open ones
    (competitive), each among the open zone groups of the account's running campaigns.
    SKIP LOCKED lets many hosts claim side by side without waiting.

    `known_only`: a statement of its own (so the usual one stays as it is) that hands the
    account campaign messages only to numbers it already chats with.
    """
    message, debtor, campaign = table(Message), table(Debtor), table(Campaign)
    registry = table(DoNotContact)
    pending, claimed = literal(MessageStatus.PENDING), literal(MessageStatus.CLAIMED)
    running = literal(CampaignStatus.RUNNING)
    # The open windows lead the pending index; ordered by its own keys, no plan but
    # walking that index from `after` can stop at the first row.
    lock = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    policy = _policy_condition(caps=caps)
    known = _known_chat() if known_only else ""

    def candidate(owned: str) -> str:
        return (
            f"(SELECT candidate.id FROM {message} AS candidate WHERE {owned}"  # noqa: S608
            f" AND candidate.status = {pending} AND {policy}{known}"
            f" AND candidate.id > %(after)s"
            f" ORDER BY {_WINDOW}, candidate.assigned_session_id, candidate.id LIMIT 1{lock})"
        )

    def debtors(column: str) -> str:
        return f"(SELECT {column} FROM {debtor} WHERE {debtor}.id = {message}.debtor_id)"  # noqa: S608

    direct = (
        f"(SELECT candidate.id FROM {message} AS candidate"  # noqa: S608
        " WHERE candidate.assigned_session_id = %(session)s"
        f" AND candidate.status = {pending} AND candidate.campaign_id IS NULL"
        f" ORDER BY candidate.assigned_session_id, candidate.id LIMIT 1{lock})"
    )
    assigned = candidate("candidate.assigned_session_id = %(session)s")
    pooled = candidate("candidate.assigned_session_id IS NULL")
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
        f" {debtors('opted_out')}, {debtors('on_whatsapp')},"
        # The phone, not the debtor: a number that opted out stays out under any name.
        f" EXISTS (SELECT 1 FROM {registry} WHERE {registry}.phone_e164 = {debtors('phone_e164')}),"
        " kind"
    )


def _window_params(windows: list[OpenWindow]) -> dict[str, Any]:
    if connection.vendor == "postgresql":
        return {
            "windows": [window.key for window in windows],
            "day_starts": [window.day_start for window in windows],
            "day_caps": [window.day_cap for window in windows],
            "period_starts": [window.period_start for window in windows],
            "period_caps": [window.period_cap for window in windows],
        }

    def stamp(at: datetime.datetime) -> str:  # as SQLite stores a DateTimeField
        return at.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    rows = [
        [w.key, stamp(w.day_start), w.day_cap, stamp(w.period_start), w.period_cap] for w in windows
    ]
    return {"windows": json.dumps(rows)}


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
    do_not_contact: bool
    kind: str


def claim_next(
    session: WhatsAppSession,
    windows: OpenWindows,
    now: datetime.datetime,
    *,
    after: int = 0,
    known_only: bool = False,
) -> Claim | None:
    """Run inside a transaction: pending -> claimed, leased from `now`, among `windows`
    (a direct message goes whatever they are, even when none is open); with `known_only`
    campaign messages only to numbers the account already has a chat with."""
    lease = now + datetime.timedelta(seconds=settings.ENGINE_CLAIM_LEASE_SECONDS)
    params: dict[str, Any] = {
        "session": session.pk,
        "now": now,
        "lease": lease,
        "after": after,
        **_window_params(windows.windows),
    }
    _, rows = run(_claim_sql(windows.has_caps, known_only), params)
    return Claim(*rows[0]) if rows else None
