import pytest
from django.db import IntegrityError

from sessions_app.models import PoolMember, WhatsAppSession
from tests.factories import PoolMemberFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


def test_an_unknown_account_status_is_rejected_by_the_database():
    account = WhatsAppSessionFactory()
    with pytest.raises(IntegrityError):
        WhatsAppSession.objects.filter(pk=account.pk).update(status="sleeping")


def test_a_minimum_delay_above_the_maximum_is_rejected():
    with pytest.raises(IntegrityError):
        WhatsAppSessionFactory(min_delay_seconds=30, max_delay_seconds=10)


def test_new_accounts_get_the_safe_pacing_defaults():
    account = WhatsAppSession.objects.create(name="Fresh")
    assert (account.min_delay_seconds, account.max_delay_seconds) == (20, 60)
    assert (account.hourly_cap, account.daily_cap) == (60, 400)
    assert account.active_from.hour == 8
    assert account.active_until.hour == 19


def test_an_account_joins_a_pool_once():
    member = PoolMemberFactory()
    with pytest.raises(IntegrityError):
        PoolMemberFactory(pool=member.pool, session=member.session)


def test_a_zero_weight_is_rejected():
    member = PoolMemberFactory()
    with pytest.raises(IntegrityError):
        PoolMember.objects.filter(pk=member.pk).update(weight=0)
