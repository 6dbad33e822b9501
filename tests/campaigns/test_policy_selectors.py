import datetime
import zoneinfo

import pytest
from django.urls import reverse

from campaigns.models import ContactPolicy, MessageStatus
from campaigns.policy_selectors import campaign_waiting, contact_policy_list, zones_country
from campaigns.services import campaign_start
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    MessageFactory,
    PoolFactory,
    PoolMemberFactory,
)
from whatsmassive import clock

pytestmark = pytest.mark.django_db
BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
# Tuesday 1 December 2026, 13:00 in Bogotá: 19:00 in Madrid.
TUESDAY_1PM = datetime.datetime(2026, 12, 1, 13, tzinfo=BOGOTA)


def _started(policy):
    member = PoolMemberFactory(pool=PoolFactory())
    campaign = CampaignFactory(pool=member.pool, policy=policy, audience={"include_recent": True})
    return campaign_start(campaign=campaign)


def test_a_closed_zone_group_waits_until_its_next_window():
    policy = ContactPolicy.objects.create(name="Daytime", windows=[[["08:00", "18:00"]]] * 7)
    DebtorFactory.create_batch(2)  # Colombian numbers: Bogotá, open
    DebtorFactory(time_zone="Europe/Madrid")
    with clock.moved_to(TUESDAY_1PM):
        campaign = _started(policy)
        [group] = campaign_waiting(campaign=campaign)
    assert group.waiting == 1
    assert not group.over_cap
    assert group.opens_at == datetime.datetime(
        2026, 12, 2, 8, tzinfo=zoneinfo.ZoneInfo("Europe/Madrid")
    )
    assert group.sentence == "1 debtor in Spain: next window Wednesday 08:00 Madrid"


def test_debtors_over_a_cap_wait_for_the_next_days_window():
    policy = ContactPolicy.objects.create(
        name="Once a day", windows=[[["08:00", "18:00"]]] * 7, max_per_day=1
    )
    contacted, _fresh = DebtorFactory.create_batch(2)
    with clock.moved_to(TUESDAY_1PM):
        MessageFactory(
            campaign=CampaignFactory(),
            debtor=contacted,
            status=MessageStatus.SENT,
            sent_at=clock.now() - datetime.timedelta(hours=2),
        )
        campaign = _started(policy)
        [group] = campaign_waiting(campaign=campaign)
    assert group.waiting == 1
    assert group.over_cap
    assert group.sentence == (
        "1 debtor in Colombia reached the cap: next window Wednesday 08:00 Bogota"
    )


def test_a_contact_yesterday_holds_no_one_back_today():
    policy = ContactPolicy.objects.create(
        name="Once a day", windows=[[["08:00", "18:00"]]] * 7, max_per_day=1
    )
    debtor = DebtorFactory()
    with clock.moved_to(TUESDAY_1PM):
        MessageFactory(
            campaign=CampaignFactory(),
            debtor=debtor,
            status=MessageStatus.SENT,
            sent_at=clock.now() - datetime.timedelta(days=1),
        )
        campaign = _started(policy)
        assert campaign_waiting(campaign=campaign) == []


def test_a_draft_has_nothing_waiting_yet():
    campaign = CampaignFactory()
    assert campaign_waiting(campaign=campaign) == []


def test_zones_of_one_country_name_it_and_mixed_ones_do_not():
    assert zones_country("America/Bogota") == "Colombia"
    assert zones_country("America/Chicago America/New_York") == "United States"
    assert zones_country("America/Bogota Europe/Madrid") == ""


def test_the_policy_list_puts_the_default_first_and_counts_its_campaigns():
    default = ContactPolicy.objects.get(is_default=True)
    CampaignFactory.create_batch(2)
    policies = list(contact_policy_list())
    assert policies[0] == default
    assert policies[0].campaign_count == 2


def test_the_campaign_page_and_its_fragment_say_what_waits(client, operator):
    policy = ContactPolicy.objects.create(name="Daytime", windows=[[["08:00", "18:00"]]] * 7)
    DebtorFactory(time_zone="Europe/Madrid")
    DebtorFactory()
    client.force_login(operator)
    with clock.moved_to(TUESDAY_1PM):
        campaign = _started(policy)
        page = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
        fragment = client.get(reverse("campaign_waiting", args=[campaign.pk])).content.decode()
    for html in (page, fragment):
        assert "1 debtor in Spain: next window Wednesday 08:00 Madrid" in html


def test_starting_shows_what_waits_at_once(client, operator):
    policy = ContactPolicy.objects.create(name="Daytime", windows=[[["08:00", "18:00"]]] * 7)
    DebtorFactory(time_zone="Europe/Madrid")
    member = PoolMemberFactory(pool=PoolFactory())
    campaign = CampaignFactory(pool=member.pool, policy=policy)
    client.force_login(operator)
    with clock.moved_to(TUESDAY_1PM):
        htmx = client.post(reverse("campaign_start", args=[campaign.pk]), HTTP_HX_REQUEST="true")
        page = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    # The waiting section re-fetches itself on this event.
    assert "campaign-changed" in htmx["HX-Trigger"]
    assert 'hx-trigger="campaign-changed from:body' in page
    assert "1 debtor in Spain: next window Wednesday 08:00 Madrid" in page
