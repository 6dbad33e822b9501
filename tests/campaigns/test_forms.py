import pytest

from campaigns.audience import audience_debtors
from campaigns.forms import CampaignForm
from tests.factories import CampaignFactory, DebtorFactory, PoolFactory

pytestmark = pytest.mark.django_db


def _form(**data):
    pool = PoolFactory()
    return CampaignForm({"name": "Reminder", "pool": pool.pk, "template": "Hola {name}", **data})


def test_the_audience_keeps_only_what_was_filled_in_as_json():
    form = _form(status=["new"], amount_min="1000.50", due_from="2026-01-31", search=" ")
    assert form.is_valid(), form.errors
    assert form.audience() == {"status": ["new"], "amount_min": "1000.50", "due_from": "2026-01-31"}


def test_the_audience_is_what_the_selector_understands():
    matching = DebtorFactory(amount="2000", status="new")
    DebtorFactory(amount="500", status="new")
    DebtorFactory(amount="2000", status="read")
    form = _form(status=["new"], amount_min="1000")
    assert form.is_valid()
    assert list(audience_debtors(audience=form.audience())) == [matching]


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"amount_min": "10", "amount_max": "5"}, "amount_max"),
        ({"due_from": "2026-02-01", "due_to": "2026-01-01"}, "due_to"),
        ({"amount_min": "-1"}, "amount_min"),
        ({"status": ["bogus"]}, "status"),
    ],
)
def test_contradictory_or_invalid_filters_are_refused(data, field):
    form = _form(**data)
    assert not form.is_valid()
    assert field in form.errors
    label = form.fields[field].label
    assert any(error.startswith(f"{label}: ") for error in form.audience_errors())


def test_an_unbound_form_previews_its_initial_campaign():
    campaign = CampaignFactory(audience={"search": "Gómez", "amount_max": "900"})
    form = CampaignForm(initial=CampaignForm.initial_for(campaign))
    draft = form.campaign_for_preview()
    assert draft is not None
    assert (draft.pool, draft.template) == (campaign.pool, campaign.template)
    # A draft saved before the re-contact guard gets today's default.
    assert draft.audience == {"amount_max": "900", "search": "Gómez", "recent_days": 7}
    assert draft.pk is None


def test_the_guards_are_stored_in_the_audience_as_typed():
    form = _form(include_closed="on", recent_days="3", include_recent="")
    assert form.is_valid(), form.errors
    assert form.audience() == {"include_closed": True, "recent_days": 3}
    restored = CampaignForm(
        initial=CampaignForm.initial_for(CampaignFactory(audience=form.audience()))
    )
    assert restored.audience() == {"include_closed": True, "recent_days": 3}


def test_zero_days_turns_the_re_contact_guard_off_and_is_kept():
    form = _form(recent_days="0")
    assert form.is_valid(), form.errors
    assert form.audience() == {"recent_days": 0}


def test_a_negative_number_of_days_is_refused():
    form = _form(recent_days="-1")
    assert not form.is_valid()
    assert "recent_days" in form.errors


def test_no_preview_without_a_pool():
    form = CampaignForm({"name": "x", "pool": "999999", "template": "Hola"})
    assert form.campaign_for_preview() is None


def test_a_template_that_reaches_into_objects_is_refused():
    form = _form(template="Hola {name.__class__}")
    assert not form.is_valid()
    assert "is not a placeholder" in form.errors["template"][0]
