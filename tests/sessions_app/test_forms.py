import datetime

import pytest

from sessions_app.forms import PoolForm, PoolMemberAddForm, SessionPacingForm
from sessions_app.models import STRATEGY_HELP, WhatsAppSession
from tests.factories import WhatsAppSessionFactory


def test_each_strategy_comes_with_its_one_line_explanation():
    options = PoolForm().strategy_options()
    assert [(radio.data["value"], help) for radio, help in options] == [
        (strategy.value, text) for strategy, text in STRATEGY_HELP.items()
    ]


def test_the_pacing_form_starts_from_the_accounts_settings(db):
    account = WhatsAppSessionFactory(hourly_cap=42, active_from=datetime.time(7, 30))
    form = SessionPacingForm.for_session(account)
    assert form["hourly_cap"].value() == 42
    assert 'value="07:30"' in str(form["active_from"])


def test_the_pacing_form_is_grouped_with_every_field_once():
    form = SessionPacingForm()
    grouped = [field.name for _title, fields, _help in form.field_groups() for field in fields]
    assert sorted(grouped) == sorted(form.fields)


def test_only_the_offered_accounts_can_be_added(db):
    offered, other = WhatsAppSessionFactory.create_batch(2)
    accounts = WhatsAppSession.objects.filter(pk=offered.pk)
    assert PoolMemberAddForm({"session": offered.pk}, accounts=accounts).is_valid()
    form = PoolMemberAddForm({"session": other.pk}, accounts=accounts)
    assert not form.is_valid()
    assert form.errors["session"] == ["That account is already in this pool or no longer exists."]


@pytest.mark.parametrize("value", ["-1", "abc"])
def test_delays_must_be_whole_non_negative_seconds(value):
    form = SessionPacingForm({"min_delay_seconds": value})
    assert not form.is_valid()
    assert "min_delay_seconds" in form.errors
