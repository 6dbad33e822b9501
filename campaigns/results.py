"""What campaigns achieved: replies, opt-outs and promises to pay (reads only).

Replies are read here and nowhere else (`debtor_last_reply`, `replied_condition`), so that
where they are stored may change in one place.
"""

import datetime
from dataclasses import dataclass
from typing import cast

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Subquery

from campaigns.models import Message
from debtors.models import Disposition, DispositionKind


def debtor_last_reply(*, debtor: str = "pk") -> dict[str, Subquery]:
    """Annotations `last_reply` and `last_reply_at`: the debtor's latest reply and its time,
    for rows whose debtor id is the outer reference `debtor` ("pk" on debtors, "debtor_id"
    on messages)."""
    replies = Message.objects.filter(debtor_id=OuterRef(debtor), replied_at__isnull=False).order_by(
        "-replied_at", "-id"
    )
    return {
        "last_reply": Subquery(replies.values("reply_text")[:1]),
        "last_reply_at": Subquery(replies.values("replied_at")[:1]),
    }


def replied_condition() -> Q:
    """Messages the debtor answered."""
    return Q(replied_at__isnull=False)


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


def _outcome_counts() -> dict[str, Count]:
    """Opted out: the debtor opted out (it had not when its campaign started, or it would
    have no message). Promised: a promise to pay was recorded after the message was sent."""
    promise_after_send = Disposition.objects.filter(
        debtor_id=OuterRef("debtor_id"), kind=DispositionKind.PROMISE, at__gte=OuterRef("sent_at")
    )
    return {
        "reached": Count("id", filter=Q(sent_at__isnull=False)),
        "replied": Count("id", filter=replied_condition()),
        "opted_out": Count("id", filter=Q(debtor__opted_out=True)),
        "promised": Count("id", filter=Q(Exists(promise_after_send), sent_at__isnull=False)),
    }


def campaign_outcomes_many(*, campaign_ids: list[int]) -> dict[int, Outcomes]:
    """Outcomes of several campaigns in one grouped query."""
    rows = cast(
        "QuerySet[Message, dict[str, int]]",
        Message.objects.filter(campaign_id__in=campaign_ids)
        .order_by()
        .values("campaign_id")
        .annotate(**_outcome_counts()),
    )
    outcomes = {pk: Outcomes() for pk in campaign_ids}
    for row in rows:
        campaign_id = row.pop("campaign_id")
        outcomes[campaign_id] = Outcomes(**row)
    return outcomes


def outcomes_since(*, since: datetime.datetime) -> Outcomes:
    """Outcomes of every message sent since `since`, all campaigns (one query)."""
    counts = Message.objects.filter(sent_at__gte=since).aggregate(**_outcome_counts())
    return Outcomes(**counts)
