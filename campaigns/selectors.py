from dataclasses import dataclass, field

from django.db.models import Count, QuerySet

from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus

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
