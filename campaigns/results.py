"""What campaigns achieved: replies, opt-outs and promises to pay (reads only).

Replies are read here and nowhere else (`debtor_last_reply` and the outcome counts), so
that where they are stored may change in one place.
"""

import datetime
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, Subquery

from campaigns.engine.statements import literal, table
from campaigns.models import Campaign, Message
from debtors.models import Debtor, Disposition, DispositionKind
from inbox.models import IncomingMessage


def debtor_last_reply(*, debtor: str = "pk") -> dict[str, Subquery]:
    """Annotations `last_reply` and `last_reply_at`: the debtor's latest reply and its time,
    for rows whose debtor id is the outer reference `debtor` ("pk" on debtors, "debtor_id"
    on messages)."""
    replies = IncomingMessage.objects.filter(conversation__debtor_id=OuterRef(debtor)).order_by(
        "-received_at", "-id"
    )
    return {
        "last_reply": Subquery(replies.values("text")[:1]),
        "last_reply_at": Subquery(replies.values("received_at")[:1]),
    }


@dataclass(frozen=True)
class Outcomes:
    """What came of sends: replies, opt-outs and promises to pay, and their share of the
    messages handed to WhatsApp (percentages; None before anything was sent)."""

    reached: int = 0
    replied: int = 0
    opted_out: int = 0
    promised: int = 0

    def _percent(self, n: int) -> float | None:
        return 100 * n / self.reached if self.reached else None

    @property
    def replied_percent(self) -> float | None:
        return self._percent(self.replied)

    @property
    def opted_out_percent(self) -> float | None:
        return self._percent(self.opted_out)

    @property
    def promised_percent(self) -> float | None:
        return self._percent(self.promised)


def _outcomes_sql(*, campaign_ids: list[int] | None = None) -> str:
    """Counted in one pass over the messages, written as SQL because the ORM cannot join
    the derived table: a promise counts when the debtor's latest promise is not older than
    the send. Spelled as a correlated EXISTS, PostgreSQL estimates a subplan per message and
    JIT-compiles the query, which then costs ten times the pass itself (README, Results).
    Opted out: the debtor opted out (it had not when its campaign started, or it would have
    no message)."""
    quote = connection.ops.quote_name
    message, debtor, disposition = table(Message), table(Debtor), table(Disposition)
    incoming = table(IncomingMessage)
    promise = literal(DispositionKind.PROMISE)
    grouped = campaign_ids is not None
    select = "m.campaign_id, " if grouped else ""
    where = "m.sent_at >= %(since)s"
    if campaign_ids is not None:
        where = f"m.campaign_id IN ({', '.join(str(int(pk)) for pk in campaign_ids)})"
    return (
        f"SELECT {select}"  # noqa: S608
        "count(*) FILTER (WHERE m.sent_at IS NOT NULL),"
        f" count(*) FILTER (WHERE m.id IN (SELECT in_reply_to_id FROM {incoming}"
        " WHERE in_reply_to_id IS NOT NULL)),"
        f" count(*) FILTER (WHERE m.debtor_id IN (SELECT id FROM {debtor} WHERE opted_out)),"
        " count(*) FILTER (WHERE lp.latest >= m.sent_at)"
        f" FROM {message} m LEFT JOIN (SELECT debtor_id, max({quote('at')}) AS latest"
        f" FROM {disposition} WHERE kind = {promise} GROUP BY debtor_id) lp"
        f" ON lp.debtor_id = m.debtor_id WHERE {where}"
        + (" GROUP BY m.campaign_id" if grouped else "")
    )


def campaign_outcomes_many(*, campaign_ids: list[int]) -> dict[int, Outcomes]:
    """Outcomes of several campaigns in one grouped query."""
    outcomes = {pk: Outcomes() for pk in campaign_ids}
    if not campaign_ids:
        return outcomes
    with connection.cursor() as cursor:
        cursor.execute(_outcomes_sql(campaign_ids=campaign_ids))
        for campaign_id, *counts in cursor.fetchall():
            outcomes[campaign_id] = Outcomes(*counts)
    return outcomes


def outcomes_since(*, since: datetime.datetime) -> Outcomes:
    """Outcomes of every message sent since `since`, all campaigns (one query)."""
    with connection.cursor() as cursor:
        cursor.execute(_outcomes_sql(), {"since": since})
        return Outcomes(*cursor.fetchone())


@dataclass(frozen=True)
class VariantResult:
    """What one of a campaign's texts achieved (`variant` is its position, 0 first)."""

    variant: int
    sent: int = 0
    read: int = 0
    replied: int = 0
    opted_out: int = 0

    @property
    def number(self) -> int:
        return self.variant + 1


def campaign_variant_results(*, campaign: Campaign) -> list[VariantResult]:
    """One row per text of the campaign, in order, counted over its messages in one query.

    Only messages handed to WhatsApp count: a debtor who opted out before their message went
    out was not moved by its text.
    """
    sent = Q(sent_at__isnull=False)
    replies = IncomingMessage.objects.filter(in_reply_to_id=OuterRef("pk"))
    rows = (
        Message.objects.filter(sent, campaign=campaign)
        .values("variant")
        .annotate(
            sent=Count("id"),
            read=Count("id", filter=Q(read_at__isnull=False)),
            replied=Count("id", filter=Q(Exists(replies))),
            opted_out=Count("id", filter=Q(debtor__opted_out=True)),
        )
    )
    counted = {
        row["variant"]: VariantResult(
            row["variant"], row["sent"], row["read"], row["replied"], row["opted_out"]
        )
        for row in rows
    }
    return [
        counted.get(variant, VariantResult(variant)) for variant in range(len(campaign.templates))
    ]
