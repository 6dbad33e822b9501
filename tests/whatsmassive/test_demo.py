import pytest

from campaigns.models import Campaign
from debtors.models import Debtor
from sessions_app.models import Pool, PoolStrategy, WhatsAppSession
from whatsmassive.demo import demo_seed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def test_seeding_twice_creates_the_demo_world_once():
    first = demo_seed(debtor_count=120)
    second = demo_seed(debtor_count=120)
    assert first.password
    assert second.password == first.password
    assert WhatsAppSession.objects.count() == 3
    assert sorted(Pool.objects.values_list("strategy", flat=True)) == sorted(PoolStrategy.values)
    assert 110 <= Debtor.objects.count() <= 120
    assert Campaign.objects.get().status == "draft"


def test_demo_debtors_include_numbers_the_sandbox_treats_as_not_on_whatsapp():
    demo_seed(debtor_count=120)
    assert Debtor.objects.filter(phone_e164__endswith="000").exists()
