import pytest

from debtors.models import Debtor
from debtors.services import debtor_opt_out
from tests.factories import DebtorFactory

pytestmark = pytest.mark.django_db


def test_opt_out_marks_debtors_once():
    first, second = DebtorFactory(), DebtorFactory()
    assert debtor_opt_out(debtors=Debtor.objects.filter(pk=first.pk)) == 1
    assert debtor_opt_out(debtors=Debtor.objects.all()) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.opted_out
    assert second.opted_out
    assert first.opted_out_at is not None
