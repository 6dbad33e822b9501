"""What campaigns achieved: replies, opt-outs and promises to pay (reads only).

Replies are read here and nowhere else (`debtor_last_reply`, `replied_condition`), so that
where they are stored may change in one place.
"""

from dataclasses import dataclass

from django.db.models import Count, Exists, OuterRef, Q, Subquery

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
class CampaignOutcomes:
    """What came of a campaign's sends: replies, opt-outs and promises to pay."""

    reached: int = 0  # handed to WhatsApp
    replied: int = 0
    opted_out: int = 0
    promised: int = 0

    def _rate(self, n: int) -> float | None:
        return n / self.reached if self.reached else None

    @property
    def replied_rate(self) -> float | None:
        return self._rate(self.replied)

    @property
    def opted_out_rate(self) -> float | None:
        return self._rate(self.opted_out)

    @property
    def promised_rate(self) -> float | None:
        return self._rate(self.promised)


def campaign_outcomes_many(*, campaign_ids: list[int]) -> dict[int, CampaignOutcomes]:
    """Outcomes of several campaigns in one grouped query.

    Opted out: the debtor opted out (it was not when the campaign started, or it would have
    no message). Promised: a promise to pay was recorded after the message was sent.
    """
    promise_after_send = Disposition.objects.filter(
        debtor_id=OuterRef("debtor_id"), kind=DispositionKind.PROMISE, at__gte=OuterRef("sent_at")
    )
    rows = (
        Message.objects.filter(campaign_id__in=campaign_ids)
        .order_by()
        .values_list("campaign_id")
        .annotate(
            reached=Count("id", filter=Q(sent_at__isnull=False)),
            replied=Count("id", filter=replied_condition()),
            opted_out=Count("id", filter=Q(debtor__opted_out=True)),
            promised=Count("id", filter=Q(Exists(promise_after_send), sent_at__isnull=False)),
        )
    )
    outcomes = {pk: CampaignOutcomes() for pk in campaign_ids}
    for campaign_id, reached, replied, opted_out, promised in rows:
        outcomes[campaign_id] = CampaignOutcomes(
            reached=reached, replied=replied, opted_out=opted_out, promised=promised
        )
    return outcomes
