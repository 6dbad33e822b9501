import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from campaigns.models import Campaign
from campaigns.selectors import campaign_progress
from campaigns.services import (
    CampaignStartRefused,
    CampaignTransitionError,
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_start,
)

ACTIONS = {
    "start": campaign_start,
    "pause": campaign_pause,
    "resume": campaign_resume,
    "cancel": campaign_cancel,
}


class Command(BaseCommand):
    help = "Start, pause, resume or cancel a campaign, or print its status."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=[*ACTIONS, "status"])
        parser.add_argument("campaign_id", type=int)
        parser.add_argument("--json", action="store_true", help="status as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            campaign = Campaign.objects.select_related("pool").get(pk=options["campaign_id"])
        except Campaign.DoesNotExist as exc:
            raise CommandError(f"No campaign with id {options['campaign_id']}.") from exc
        action = options["action"]
        if action != "status":
            try:
                campaign = ACTIONS[action](campaign=campaign)
            except CampaignStartRefused as exc:
                raise CommandError("Cannot start: " + " ".join(exc.reasons)) from exc
            except CampaignTransitionError as exc:
                raise CommandError(str(exc)) from exc
        progress = campaign_progress(campaign=campaign)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "id": campaign.pk,
                        "status": campaign.status,
                        "detail": campaign.status_detail,
                        "counts": progress.counts,
                        "done": progress.done,
                        "total": progress.total,
                    }
                )
            )
            return
        counts = " ".join(f"{status}={n}" for status, n in sorted(progress.counts.items()))
        detail = f" ({campaign.status_detail})" if campaign.status_detail else ""
        self.stdout.write(
            f"campaign {campaign.pk} “{campaign.name}”: {campaign.status}{detail}; "
            f"{progress.done}/{progress.total} done; {counts}".rstrip("; ")
        )
