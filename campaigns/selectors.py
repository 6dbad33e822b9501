from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Count, Q, QuerySet

from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from debtors.models import Debtor

# Statuses after which a message needs no more work from the engine.
FINAL_STATUSES = frozenset(
    {
        MessageStatus.SENT,
        MessageStatus.DELIVERED,
        MessageStatus.READ,
        MessageStatus.FAILED,
        MessageStatus.UNKNOWN,
        MessageStatus.SKIPPED,
    }
)


@dataclass(frozen=True)
class CampaignProgress:
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def done(self) -> int:
        return sum(n for status, n in self.counts.items() if status in FINAL_STATUSES)

    @property
    def percent(self) -> int:
        return 100 * self.done // self.total if self.total else 0


def campaign_progress(*, campaign: Campaign) -> CampaignProgress:
    """Counts by message status, straight from the Message rows."""
    rows = (
        Message.objects.filter(campaign=campaign)
        .order_by()
        .values_list("status")
        .annotate(n=Count("id"))
    )
    return CampaignProgress(counts=dict(rows))


def campaign_list() -> QuerySet[Campaign]:
    return Campaign.objects.select_related("pool", "created_by")


def campaigns_running() -> QuerySet[Campaign]:
    return campaign_list().filter(status=CampaignStatus.RUNNING)


def audience_debtors(*, audience: dict[str, Any]) -> QuerySet[Debtor]:
    """Debtors a campaign with this audience filter would message (never opted-out ones).

    Keys (all optional): `status` (list of debtor statuses), `amount_min`, `amount_max`,
    `due_from`, `due_to` (ISO dates), `search` (name or reference contains).
    """
    debtors = Debtor.objects.filter(opted_out=False)
    if audience.get("status"):
        debtors = debtors.filter(status__in=audience["status"])
    if audience.get("amount_min") not in (None, ""):
        debtors = debtors.filter(amount__gte=Decimal(str(audience["amount_min"])))
    if audience.get("amount_max") not in (None, ""):
        debtors = debtors.filter(amount__lte=Decimal(str(audience["amount_max"])))
    if audience.get("due_from"):
        debtors = debtors.filter(due_date__gte=audience["due_from"])
    if audience.get("due_to"):
        debtors = debtors.filter(due_date__lte=audience["due_to"])
    if audience.get("search"):
        term = str(audience["search"])
        debtors = debtors.filter(Q(name__icontains=term) | Q(reference__icontains=term))
    return debtors
