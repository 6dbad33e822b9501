import datetime
import zoneinfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from campaigns.engine import Pacer, engine_send_next
from campaigns.engine.claims import claim_next
from campaigns.engine.statements import run
from campaigns.engine.windows import open_windows
from campaigns.models import Campaign, ContactPolicy, Message, MessageStatus, OptOutMode
from campaigns.policies import day_start, zones_open
from campaigns.services import CampaignStartRefused, campaign_start
from sessions_app.drivers import profile_dir_for
from sessions_app.drivers.sandbox import SandboxDriver, simulate_scan
from sessions_app.models import AccountChat, SessionStatus
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    PoolFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
)
from whatsmassive import clock

pytestmark = pytest.mark.django_db
BOGOTA = zoneinfo.ZoneInfo("America/Bogota")
COLOMBIA = [*[[["07:00", "19:00"]]] * 5, [["08:00", "15:00"]], []]


def _campaign(policy, debtors, **fields):
    # Debtors contacted earlier stay in: the policy's caps, not the audience's re-contact
    # guard, must hold them back here.
    fields.setdefault("audience", {"include_recent": True})
    member = PoolMemberFactory(pool=PoolFactory())
    campaign = CampaignFactory(pool=member.pool, policy=policy, **fields)
    return member.session, campaign_start(campaign=campaign)


def _claim_all(session, campaign_ids):
    campaigns = list(Campaign.objects.filter(pk__in=campaign_ids).select_related("policy"))
    now = clock.now()
    windows = open_windows(campaigns, now)
    claimed = []
    while (claim := claim_next(session, windows, now)) is not None:
        claimed.append(claim)
    return claimed


def test_a_debtor_in_a_closed_window_waits_while_the_others_are_claimed():
    policy = ContactPolicy.objects.create(name="Daytime", windows=[[["08:00", "18:00"]]] * 7)
    bogota = DebtorFactory(phone_e164="+573001234567")
    madrid = DebtorFactory(phone_e164="+34612345678")
    # 10:00 in Bogotá is 16:00 in Madrid; at 13:00 in Bogotá Madrid is closed (19:00).
    with clock.moved_to(datetime.datetime(2026, 12, 1, 13, tzinfo=BOGOTA)):
        session, campaign = _campaign(policy, [bogota, madrid])
        claimed = _claim_all(session, [campaign.pk])
    assert [claim.debtor_id for claim in claimed] == [bogota.pk]
    waiting = Message.objects.get(debtor=madrid)
    assert (waiting.status, waiting.attempts) == (MessageStatus.PENDING, 0)


def test_a_campaign_waits_whole_on_a_colombian_holiday():
    policy = ContactPolicy.objects.create(name="CO", windows=COLOMBIA, holiday_country="CO")
    DebtorFactory(phone_e164="+573001234567")
    with clock.moved_to(datetime.datetime(2026, 12, 8, 10, tzinfo=BOGOTA)):
        session, campaign = _campaign(policy, [])
        assert _claim_all(session, [campaign.pk]) == []
    with clock.moved_to(datetime.datetime(2026, 12, 9, 10, tzinfo=BOGOTA)):
        assert len(_claim_all(session, [campaign.pk])) == 1


def test_a_daily_cap_holds_across_campaigns_and_accounts():
    policy = ContactPolicy.objects.create(name="Once a day", max_per_day=1)
    DebtorFactory.create_batch(3)
    with clock.moved_to(datetime.datetime(2026, 12, 1, 10, tzinfo=BOGOTA)):
        first_account, first = _campaign(policy, [])
        second_account, second = _campaign(policy, [])
        assert len(_claim_all(first_account, [first.pk])) == 3
        assert _claim_all(second_account, [second.pk]) == []
    with clock.moved_to(datetime.datetime(2026, 12, 2, 10, tzinfo=BOGOTA)):
        assert len(_claim_all(second_account, [second.pk])) == 3


def test_the_capped_claim_is_planned_once_not_on_every_call():
    policy = ContactPolicy.objects.create(name="Once a day", max_per_day=1)
    DebtorFactory.create_batch(8)
    with clock.moved_to(datetime.datetime(2026, 12, 1, 10, tzinfo=BOGOTA)):
        session, campaign = _campaign(policy, [])
        assert len(_claim_all(session, [campaign.pk])) == 8
    plans = run(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
        " WHERE statement LIKE %(claim)s",
        {"claim": "UPDATE%pg_try_advisory_xact_lock%"},
    )[1]
    assert plans == [(9, 0)]  # the eight claims and the one that found nothing


def test_start_is_refused_when_the_policy_requires_an_opt_out_instruction_the_text_lacks():
    policy = ContactPolicy.objects.create(
        name="Reg F",
        opt_out_mode=OptOutMode.REQUIRED,
        opt_out_instruction="Reply STOP to stop these messages.",
    )
    DebtorFactory()
    member = PoolMemberFactory(pool=PoolFactory())
    campaign = CampaignFactory(pool=member.pool, policy=policy, template="Hola {name}")
    with pytest.raises(CampaignStartRefused, match="requires the opt-out instruction"):
        campaign_start(campaign=campaign)


def test_the_policy_appends_its_opt_out_instruction_to_every_body():
    policy = ContactPolicy.objects.create(
        name="Append", opt_out_mode=OptOutMode.APPEND, opt_out_instruction="Reply STOP."
    )
    DebtorFactory(name="Ana")
    _, campaign = _campaign(policy, [], template="Hola {name}")
    assert list(campaign.messages.values_list("body", flat=True)) == ["Hola Ana\n\nReply STOP."]


def test_a_campaign_without_a_policy_cannot_start():
    DebtorFactory()
    member = PoolMemberFactory(pool=PoolFactory())
    campaign = CampaignFactory(pool=member.pool, policy=None)
    with pytest.raises(CampaignStartRefused, match="Choose a contact policy"):
        campaign_start(campaign=campaign)


PHONES = ["+573001234567", "+34612345678", "+13125550100", "+12125550100", "+525512345678"]


class TestNoClaimBreaksAPolicy(TestCase):
    """Random windows, clocks (a DST change and holidays in range) and earlier contacts:
    every claim is inside its debtor's window and under the caps."""

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        start=st.integers(0, 20),
        end=st.integers(4, 24),
        day_cap=st.integers(0, 2),
        earlier=st.lists(st.integers(0, 4), max_size=6),
        instant=st.datetimes(  # hypothesis bounds are naive; the values get UTC below
            min_value=datetime.datetime(2026, 3, 6),  # noqa: DTZ001
            max_value=datetime.datetime(2026, 3, 10),  # noqa: DTZ001 (US DST on the 8th)
        ).map(lambda at: at.replace(tzinfo=datetime.UTC)),
        country=st.sampled_from(["", "US", "CO"]),
    )
    def test_claims(self, start, end, day_cap, earlier, instant, country):
        windows = [[[f"{start:02d}:00", f"{max(end, start + 1):02d}:00"]]] * 7
        policy = ContactPolicy.objects.create(
            name="Random", windows=windows, holiday_country=country, max_per_day=day_cap or None
        )
        debtors = [DebtorFactory(phone_e164=phone) for phone in PHONES]
        with clock.moved_to(instant):
            for index in earlier:  # contacts already made today by another campaign
                other = CampaignFactory(policy=policy)
                Message.objects.create(
                    campaign=other,
                    debtor=debtors[index],
                    body="x",
                    status=MessageStatus.SENT,
                    claimed_at=clock.now(),
                    sent_at=clock.now(),
                )
            session, campaign = _campaign(policy, debtors)
            with transaction.atomic():
                claimed = _claim_all(session, [campaign.pk])
        rules = policy.rules
        zones = dict(
            zip(campaign.messages.values_list("debtor_id", flat=True), [None] * 5, strict=True)
        )
        campaign.refresh_from_db()
        groups = dict(campaign.messages.values_list("debtor_id", "zone_group"))
        for claim in claimed:
            zones[claim.debtor_id] = campaign.time_zones[groups[claim.debtor_id]].split()
            assert zones_open(rules, zones[claim.debtor_id], instant)
            if day_cap:
                since = day_start(zones[claim.debtor_id], instant)
                contacts = Message.objects.filter(
                    debtor_id=claim.debtor_id, claimed_at__gte=since
                ).exclude(status=MessageStatus.PENDING)
                assert contacts.count() <= day_cap


def _chat_with(session, debtor, **fields):
    return AccountChat.objects.create(
        session=session, phone_e164=debtor.phone_e164, opened_at=clock.now(), **fields
    )


def test_past_its_new_chat_budget_an_account_claims_only_numbers_it_chats_with():
    policy = ContactPolicy.objects.create(name="Any time")
    strangers = DebtorFactory.create_batch(3)
    known = DebtorFactory()
    session, campaign = _campaign(policy, [])
    _chat_with(session, known, outgoing=False)  # the debtor wrote first
    campaigns = list(Campaign.objects.filter(pk=campaign.pk).select_related("policy"))
    windows = open_windows(campaigns, clock.now())
    claimed = []
    while (claim := claim_next(session, windows, clock.now(), known_only=True)) is not None:
        claimed.append(claim)
    assert [claim.debtor_id for claim in claimed] == [known.pk]
    assert set(
        Message.objects.filter(status=MessageStatus.PENDING).values_list("debtor_id", flat=True)
    ) == {debtor.pk for debtor in strangers}


def test_a_chat_of_another_account_does_not_make_a_number_known():
    policy = ContactPolicy.objects.create(name="Any time")
    debtor = DebtorFactory()
    session, campaign = _campaign(policy, [])
    other, _ = _campaign(policy, [])
    _chat_with(other, debtor)
    campaigns = list(Campaign.objects.filter(pk=campaign.pk).select_related("policy"))
    windows = open_windows(campaigns, clock.now())
    assert claim_next(session, windows, clock.now(), known_only=True) is None


class TestNoClaimOpensAChatPastTheBudget(TestCase):
    """Random budgets, numbers already chatted with (by this account or another) and chats
    opened earlier today or yesterday: the send loop opens exactly as many new chats today as
    the budget leaves, and still sends to every number it knows."""

    @settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(
        budget=st.integers(1, 4),
        known=st.sets(st.integers(0, 5), max_size=4),
        others=st.sets(st.integers(0, 5), max_size=3),
        earlier_today=st.integers(0, 3),
        yesterday=st.integers(0, 3),
    )
    def test_chats(self, budget, known, others, earlier_today, yesterday):
        account = WhatsAppSessionFactory(
            status=SessionStatus.CONNECTED, new_chats_per_day=budget, time_zone="America/Bogota"
        )
        other = WhatsAppSessionFactory()
        debtors = DebtorFactory.create_batch(6)
        at = datetime.datetime(2026, 12, 1, 10, tzinfo=BOGOTA)
        for n in range(earlier_today + yesterday):
            AccountChat.objects.create(
                session=account,
                phone_e164=f"+1202555{n:04d}",
                opened_at=at - datetime.timedelta(hours=2 if n < earlier_today else 12),
            )
        for index in known:
            _chat_with(account, debtors[index], outgoing=False)
        for index in others:
            _chat_with(other, debtors[index])
        with clock.moved_to(at):
            member = PoolMemberFactory(pool=PoolFactory(), session=account)
            campaign = CampaignFactory(
                pool=member.pool,
                policy=ContactPolicy.objects.create(name="Any time"),
                audience={"include_recent": True},
            )
            campaign_start(campaign=campaign)
            driver = SandboxDriver(profile_dir=profile_dir_for(session_id=account.pk))
            driver.start()
            simulate_scan(driver.profile_dir)
            pacer = Pacer.load(account)
            while engine_send_next(session=account, driver=driver, pacer=pacer) < 1:
                pass
            driver.close()
        sent = set(
            Message.objects.filter(campaign=campaign, status=MessageStatus.SENT).values_list(
                "debtor__phone_e164", flat=True
            )
        )
        known_phones = {debtors[index].phone_e164 for index in known}
        assert known_phones <= sent
        left = max(0, budget - earlier_today)
        assert len(sent - known_phones) == min(left, 6 - len(known))
        opened = AccountChat.objects.filter(
            session=account, outgoing=True, opened_at__gte=at.replace(hour=0)
        )
        assert opened.count() == earlier_today + len(sent - known_phones)
