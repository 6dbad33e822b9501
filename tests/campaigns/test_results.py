import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from campaigns.models import MessageStatus
from campaigns.results import (
    Outcomes,
    VariantResult,
    campaign_outcomes_many,
    campaign_variant_results,
    outcomes_since,
)
from debtors.models import Disposition, DispositionKind
from tests.factories import CampaignFactory, DebtorFactory, MessageFactory, replied_message

pytestmark = pytest.mark.django_db


def _sent(campaign, *, at, **fields):
    make = replied_message if "replied_at" in fields else MessageFactory
    return make(campaign=campaign, status=MessageStatus.READ, sent_at=at, **fields)


def _promise(debtor, *, at):
    return Disposition.objects.create(
        debtor=debtor,
        kind=DispositionKind.PROMISE,
        amount=Decimal("100"),
        date=timezone.localdate(),
        at=at,
    )


def test_outcomes_count_replies_opt_outs_and_promises_after_the_send():
    now = timezone.now()
    hour = datetime.timedelta(hours=1)
    campaign, other = CampaignFactory(), CampaignFactory()
    _sent(campaign, at=now - hour, replied_at=now, reply_text="Hola")
    _sent(campaign, at=now - hour, debtor=DebtorFactory(opted_out=True))
    promised = _sent(campaign, at=now - hour)
    _promise(promised.debtor, at=now)
    promised_before = _sent(campaign, at=now - hour)
    _promise(promised_before.debtor, at=now - 2 * hour)  # not this campaign's doing
    MessageFactory(campaign=campaign, status=MessageStatus.PENDING)
    _sent(other, at=now - hour, replied_at=now, reply_text="Otra")

    outcomes = campaign_outcomes_many(campaign_ids=[campaign.pk, other.pk])
    assert outcomes[campaign.pk] == Outcomes(reached=4, replied=1, opted_out=1, promised=1)
    assert outcomes[campaign.pk].replied_percent == 25.0
    assert outcomes[other.pk] == Outcomes(reached=1, replied=1)


def test_a_campaign_without_sends_has_no_rates():
    campaign = CampaignFactory()
    MessageFactory(campaign=campaign)
    outcomes = campaign_outcomes_many(campaign_ids=[campaign.pk])[campaign.pk]
    assert (outcomes.reached, outcomes.replied_percent, outcomes.promised_percent) == (
        0,
        None,
        None,
    )


def test_outcomes_of_a_page_of_campaigns_take_one_query(django_assert_num_queries):
    campaigns = CampaignFactory.create_batch(5)
    for campaign in campaigns:
        _sent(campaign, at=timezone.now(), replied_at=timezone.now())
    with django_assert_num_queries(1):
        campaign_outcomes_many(campaign_ids=[campaign.pk for campaign in campaigns])


def test_outcomes_since_cover_every_campaign_sent_within_the_window():
    now = timezone.now()
    _sent(CampaignFactory(), at=now - datetime.timedelta(days=1), replied_at=now)
    _sent(CampaignFactory(), at=now - datetime.timedelta(days=9), replied_at=now)
    assert outcomes_since(since=now - datetime.timedelta(days=7)) == Outcomes(reached=1, replied=1)


def test_variant_results_count_sends_reads_replies_and_opt_outs_per_text():
    now = timezone.now()
    campaign = CampaignFactory(template="Uno", variants=["Dos", "Tres"])
    other = CampaignFactory(template="Uno", variants=["Dos"])
    _sent(campaign, at=now, variant=0, read_at=now)
    _sent(campaign, at=now, variant=0, replied_at=now, reply_text="Hola")
    _sent(campaign, at=now, variant=1, read_at=now, debtor=DebtorFactory(opted_out=True))
    _sent(campaign, at=now, variant=1, replied_at=now, reply_text="Ya pagué")
    _sent(campaign, at=now, variant=1)
    # Not handed to WhatsApp: its text cannot have moved the debtor.
    MessageFactory(campaign=campaign, variant=1, debtor=DebtorFactory(opted_out=True))
    _sent(other, at=now, variant=1, replied_at=now, reply_text="Otra")

    assert campaign_variant_results(campaign=campaign) == [
        VariantResult(variant=0, sent=2, read=1, replied=1, opted_out=0),
        VariantResult(variant=1, sent=3, read=1, replied=1, opted_out=1),
        VariantResult(variant=2),
    ]


def test_variant_results_take_one_query(django_assert_num_queries):
    campaign = CampaignFactory(variants=["Dos"])
    _sent(campaign, at=timezone.now(), variant=1, replied_at=timezone.now(), reply_text="Hola")
    with django_assert_num_queries(1):
        results = campaign_variant_results(campaign=campaign)
    assert [(row.number, row.sent, row.replied) for row in results] == [(1, 0, 0), (2, 1, 1)]
