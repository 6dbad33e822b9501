from decimal import Decimal

import pytest
from django.db import IntegrityError

from debtors.models import Debtor
from tests.factories import DebtorFactory

pytestmark = pytest.mark.django_db


def test_a_second_debtor_with_the_same_phone_is_rejected():
    DebtorFactory(phone_e164="+573001234567")
    with pytest.raises(IntegrityError):
        DebtorFactory(phone_e164="+573001234567")


def test_an_unknown_status_is_rejected_by_the_database():
    debtor = DebtorFactory()
    with pytest.raises(IntegrityError):
        Debtor.objects.filter(pk=debtor.pk).update(status="paid-maybe")


def test_a_negative_amount_is_rejected_by_the_database():
    with pytest.raises(IntegrityError):
        DebtorFactory(amount=Decimal("-1.00"))


def test_a_phone_that_is_not_e164_is_rejected_by_the_database():
    with pytest.raises(IntegrityError):
        DebtorFactory(phone_e164="3001234567")


def test_amounts_keep_their_cents_exactly():
    debtor = DebtorFactory(amount=Decimal("1234567.89"))
    debtor.refresh_from_db()
    assert debtor.amount == Decimal("1234567.89")
