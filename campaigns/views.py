from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from campaigns.selectors import campaign_list as select_campaigns
from campaigns.selectors import campaign_progress


def campaign_list(request: HttpRequest) -> HttpResponse:
    rows = [(campaign, campaign_progress(campaign=campaign)) for campaign in select_campaigns()]
    return render(request, "campaigns/campaign_list.html", {"rows": rows})
