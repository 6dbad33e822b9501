import datetime

import pytest
from django.utils import timezone

from campaigns.audience import audience_debtors, audience_guards
from campaigns.models import MessageStatus
from debtors.models import DebtorStatus
from tests.factories import DebtorFactory, MessageFactory
from whatsmassive import clock

pytestmark = pytest.mark.django_db


def test_closed_debtors_are_left_out_unless_ticked_or_included():
    DebtorFactory(name="Open")
    for status in (DebtorStatus.PAID, DebtorStatus.DISPUTED, DebtorStatus.WRONG_NUMBER):
        DebtorFactory(name=status.label, status=status)

    def names(audience):
        return set(audience_debtors(audience=audience).values_list("name", flat=True))

    assert names({}) == {"Open"}
    assert names({"status": [DebtorStatus.PAID]}) == {"paid"}
    assert names({"include_closed": True}) == {"Open", "paid", "disputed", "wrong number"}
    guards = audience_guards(audience={})
    assert (guards.closed, guards.closed_included) == (3, False)


def test_debtors_sent_a_message_in_the_last_days_are_left_out_by_default(settings):
    settings.CAMPAIGN_RECONTACT_DAYS = 7
    now = timezone.now()
    recent, long_ago, never = DebtorFactory.create_batch(3)
    MessageFactory(debtor=recent, status=MessageStatus.SENT, sent_at=now - datetime.timedelta(6))
    MessageFactory(debtor=long_ago, status=MessageStatus.SENT, sent_at=now - datetime.timedelta(8))
    MessageFactory(debtor=never, status=MessageStatus.PENDING)

    def ids(audience):
        return set(audience_debtors(audience=audience).values_list("pk", flat=True))

    assert ids({}) == {long_ago.pk, never.pk}
    assert ids({"recent_days": 10}) == {never.pk}
    assert ids({"recent_days": 0}) == {recent.pk, long_ago.pk, never.pk}
    assert ids({"include_recent": True}) == {recent.pk, long_ago.pk, never.pk}
    guards = audience_guards(audience={"recent_days": 10})
    assert (guards.recent, guards.recent_days) == (2, 10)
    # The guard reads the clock: a week on, nobody was contacted recently.
    with clock.moved_to(now + datetime.timedelta(days=7)):
        assert ids({}) == {recent.pk, long_ago.pk, never.pk}
