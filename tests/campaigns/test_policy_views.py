import pytest
from django.urls import reverse

from campaigns.models import Campaign, ContactPolicy
from tests.factories import PoolFactory, PoolMemberFactory

pytestmark = pytest.mark.django_db


def _policy_data(**overrides):
    data = {
        "name": "Weekdays only",
        "description": "House rule",
        "holiday_country": "CO",
        "max_per_day": "1",
        "max_per_period": "",
        "period_days": "",
        "opt_out_mode": "not_required",
        "opt_out_instruction": "",
        "opt_out_confirmation": "",
        **{f"windows_{day}": "07:00-12:00, 14:00-19:00" for day in range(5)},
        "windows_5": "",
        "windows_6": "",
    }
    return {**data, **overrides}


def test_the_navigation_links_the_policies_for_those_who_may_see_them(client, viewer):
    client.force_login(viewer)
    page = client.get(reverse("dashboard")).content.decode()
    assert reverse("policy_list") in page


def test_the_list_shows_the_presets_with_their_legal_source_and_windows(client, viewer):
    client.force_login(viewer)
    page = client.get(reverse("policy_list")).content.decode()
    assert "Colombia, Ley 2300 de 2023" in page
    assert "Ley 2300 de 2023, artículo 3" in page
    assert "08:00-15:00" in page  # the Colombian Saturday
    assert "Reply STOP to stop these messages." in page


def test_in_spanish_a_presets_source_is_translated_and_a_teams_own_is_shown_as_written(
    client, viewer
):
    ContactPolicy.objects.create(name="Casa", description="Regla de la casa", windows=[[]] * 7)
    client.force_login(viewer)
    page = client.get(reverse("policy_list"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    assert "de lunes a viernes de 07:00 a 19:00" in page
    assert "Monday to Friday" not in page
    assert "Regla de la casa" in page


def test_a_viewer_reads_the_policies_but_cannot_edit_them(client, viewer):
    client.force_login(viewer)
    policy = ContactPolicy.objects.get(name="Mexico, CONDUSEF")
    page = client.get(reverse("policy_list")).content.decode()
    assert reverse("policy_edit", args=[policy.pk]) not in page
    assert client.get(reverse("policy_edit", args=[policy.pk])).status_code == 403
    assert client.post(reverse("policy_create"), _policy_data()).status_code == 403
    assert client.post(reverse("policy_make_default", args=[policy.pk])).status_code == 403
    assert not ContactPolicy.objects.filter(name="Weekdays only").exists()


def test_an_operator_cannot_edit_a_policy(client, operator):
    client.force_login(operator)
    policy = ContactPolicy.objects.get(name="Mexico, CONDUSEF")
    response = client.post(reverse("policy_edit", args=[policy.pk]), _policy_data())
    assert response.status_code == 403
    policy.refresh_from_db()
    assert policy.name == "Mexico, CONDUSEF"


def test_a_supervisor_creates_a_policy_with_windows_per_weekday(client, supervisor):
    client.force_login(supervisor)
    response = client.post(reverse("policy_create"), _policy_data())
    assert response.status_code == 302
    policy = ContactPolicy.objects.get(name="Weekdays only")
    assert policy.windows == [*[[["07:00", "12:00"], ["14:00", "19:00"]]] * 5, [], []]
    assert policy.holiday_country == "CO"
    assert policy.max_per_day == 1
    assert not policy.is_default


def test_overlapping_windows_are_refused_on_their_weekday(client, supervisor):
    client.force_login(supervisor)
    response = client.post(
        reverse("policy_create"), _policy_data(windows_2="08:00-12:00, 11:00-13:00")
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors["windows_2"] == ["Wednesday: 08:00-12:00 and 11:00-13:00 overlap."]
    assert not ContactPolicy.objects.filter(name="Weekdays only").exists()


@pytest.mark.parametrize(
    ("overrides", "field", "error"),
    [
        ({"windows_0": "7-19"}, "windows_0", "“7” is not a time"),
        ({"windows_0": "19:00-07:00"}, "windows_0", "must start before it ends"),
        ({"windows_0": "08:00"}, "windows_0", "is not a range"),
        ({"max_per_period": "3"}, "period_days", "A cap over a period needs the period's days."),
        ({"opt_out_mode": "append"}, "__all__", "Say what the opt-out instruction is."),
    ],
)
def test_the_models_rules_refuse_a_policy_with_a_clear_reason(
    client, supervisor, overrides, field, error
):
    client.force_login(supervisor)
    response = client.post(reverse("policy_create"), _policy_data(**overrides))
    assert response.status_code == 200
    assert any(error in message for message in response.context["form"].errors[field])


def test_editing_keeps_the_windows_it_was_not_asked_to_change(client, supervisor):
    client.force_login(supervisor)
    policy = ContactPolicy.objects.get(name="Colombia, Ley 2300 de 2023")
    form = client.get(reverse("policy_edit", args=[policy.pk])).context["form"]
    data = {name: form[name].value() or "" for name in form.fields}
    data["opt_out_confirmation"] = "Listo, no le escribiremos más."
    assert client.post(reverse("policy_edit", args=[policy.pk]), data).status_code == 302
    policy.refresh_from_db()
    assert policy.windows[5] == [["08:00", "15:00"]]
    assert policy.windows[6] == []
    assert policy.opt_out_confirmation == "Listo, no le escribiremos más."


def test_making_a_policy_the_default_takes_it_from_the_old_one(client, supervisor):
    client.force_login(supervisor)
    mexico = ContactPolicy.objects.get(name="Mexico, CONDUSEF")
    response = client.post(reverse("policy_make_default", args=[mexico.pk]))
    assert response.status_code == 302
    assert list(ContactPolicy.objects.filter(is_default=True)) == [mexico]


def test_a_new_campaign_form_preselects_the_default_policy(client, operator):
    PoolFactory()
    client.force_login(operator)
    form = client.get(reverse("campaign_create")).context["form"]
    default = ContactPolicy.objects.get(is_default=True)
    assert form["policy"].value() == default.pk


def test_a_campaign_is_created_with_the_policy_chosen(client, operator):
    member = PoolMemberFactory()
    mexico = ContactPolicy.objects.get(name="Mexico, CONDUSEF")
    client.force_login(operator)
    data = {"name": "Abril", "pool": member.pool_id, "template": "Hola", "policy": mexico.pk}
    assert client.post(reverse("campaign_create"), data).status_code == 302
    assert Campaign.objects.get(name="Abril").policy == mexico
