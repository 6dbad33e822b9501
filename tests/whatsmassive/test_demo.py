import pytest
from django.conf import settings
from django.contrib.auth.models import User

from campaigns.models import Campaign
from debtors.models import Debtor
from sessions_app.models import Pool, PoolStrategy, WhatsAppSession
from whatsmassive.demo import DEMO_ROLE_USERS, demo_seed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path


def test_seeding_twice_creates_the_demo_world_once():
    first = demo_seed(debtor_count=120)
    second = demo_seed(debtor_count=120)
    assert all(login.password for login in first)
    assert second == first
    assert WhatsAppSession.objects.count() == 3
    assert sorted(Pool.objects.values_list("strategy", flat=True)) == sorted(PoolStrategy.values)
    assert 110 <= Debtor.objects.count() <= 120
    assert Campaign.objects.get().status == "draft"


def test_demo_debtors_include_numbers_the_sandbox_treats_as_not_on_whatsapp():
    demo_seed(debtor_count=120)
    assert Debtor.objects.filter(phone_e164__endswith="000").exists()


def test_it_creates_one_user_per_role_with_its_generated_password():
    logins = {login.username: login for login in demo_seed(debtor_count=10)}
    assert User.objects.get(username="admin").is_superuser
    for username, role in DEMO_ROLE_USERS.items():
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert not user.is_staff
        password = logins[username].password
        assert password
        assert user.check_password(password)
        assert (settings.VAR_DIR / f"demo-{username}-password").read_text().strip() == password
