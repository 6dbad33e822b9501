import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from campaigns.models import MessageStatus
from debtors.models import Debtor, DebtorStatus, Disposition
from debtors.services import debtor_disposition_record
from tests.factories import DebtorFactory, MessageFactory, running_campaign


def test_bulk_upsert_creates_and_updates_by_phone_with_the_import_rules(api):
    DebtorFactory(phone_e164="+573001234567", name="Old name")
    response = api.post_json(
        "/api/v1/debtors/bulk/",
        {
            "debtors": [
                {
                    "phone": "300 123 4567",
                    "name": "Ana",
                    "amount": "1.234,50",
                    "extra": {"ciudad": "Cali"},
                },
                {
                    "phone": "(301) 765-4321",
                    "name": "Luis",
                    "amount": 1500,
                    "due_date": "2027-01-31",
                },
            ]
        },
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"rows_read": 2, "imported": 1, "updated": 1}
    ana = Debtor.objects.get(phone_e164="+573001234567")
    assert (ana.name, str(ana.amount), ana.extra) == ("Ana", "1234.50", {"ciudad": "Cali"})
    luis = Debtor.objects.get(phone_e164="+573017654321")
    assert (str(luis.amount), str(luis.due_date)) == ("1500.00", "2027-01-31")


def test_bulk_upsert_is_all_or_nothing_and_reports_every_failed_row(api):
    response = api.post_json(
        "/api/v1/debtors/bulk/",
        {
            "debtors": [
                {"phone": "3001234567", "name": "Ana", "amount": "10"},
                {"phone": "12", "name": "Bad phone", "amount": "10"},
                {"phone": "300 123 4567", "name": "Ana again", "amount": "10"},
                {"phone": "3007654321", "name": "Bad amount", "amount": 1.125},
            ]
        },
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"].endswith("rows-rejected")
    rows = {row["index"]: row for row in body["rows"]}
    assert set(rows) == {1, 2, 3}
    assert "item 0" in rows[2]["reason"]
    assert "decimal" in rows[3]["reason"]
    assert Debtor.objects.count() == 0


def test_bulk_upsert_refuses_more_than_10000_rows(api):
    rows = [{"phone": f"300{i:07d}"} for i in range(10_001)]
    assert api.post_json("/api/v1/debtors/bulk/", {"debtors": rows}).status_code == 400


def test_marking_a_debtor_paid_skips_its_unsent_messages_at_once(api):
    campaign = running_campaign(pending=1)
    message = campaign.messages.get()
    response = api.patch_json(
        f"/api/v1/debtors/{message.debtor_id}/", {"status": "paid", "amount": "0"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == DebtorStatus.PAID
    message.refresh_from_db()
    assert message.status == MessageStatus.SKIPPED


def test_an_opt_out_through_the_api_is_the_operator_opt_out(api):
    message = MessageFactory(status=MessageStatus.PENDING)
    response = api.post_json(f"/api/v1/debtors/{message.debtor_id}/opt-out/")
    assert response.status_code == 200
    assert response.json()["opted_out"] is True
    message.refresh_from_db()
    assert message.status == MessageStatus.SKIPPED


@pytest.mark.django_db
def test_pages_are_keyset_cursors_stable_under_inserts(api):
    first = DebtorFactory.create_batch(3)
    page = api.get("/api/v1/debtors/", {"limit": 2}).json()
    assert page["has_more"] is True
    DebtorFactory(name="Aaron inserted meanwhile")
    rest = api.get("/api/v1/debtors/", {"limit": 2, "cursor": page["next_cursor"]}).json()
    seen = [row["id"] for row in page["results"] + rest["results"]]
    assert seen[:3] == [debtor.pk for debtor in first]
    assert len(seen) == len(set(seen))


def test_a_bad_cursor_is_a_problem(api):
    response = api.get("/api/v1/debtors/", {"cursor": "garbage!"})
    assert response.status_code == 422
    assert "cursor" in response.json()["errors"]


def test_a_disposition_posted_through_the_api_becomes_the_debtors_current_one(api, key_owner):
    message = MessageFactory(status=MessageStatus.PENDING)
    due = (timezone.localdate() + datetime.timedelta(days=3)).isoformat()
    url = f"/api/v1/debtors/{message.debtor_id}/dispositions/"
    response = api.post_json(url, {"kind": "promise", "amount": "25000.00", "date": due})
    assert response.status_code == 201, response.content
    assert response.json() | {"id": 0, "at": ""} == {
        "id": 0,
        "kind": "promise",
        "amount": "25000.00",
        "date": due,
        "note": "",
        "by": key_owner.username,
        "at": "",
        "broken": False,
        "broken_on": None,
    }
    debtor = api.get(f"/api/v1/debtors/{message.debtor_id}/").json()
    assert debtor["disposition"]["kind"] == "promise"
    paid = api.post_json(url, {"kind": "paid"})
    assert paid.status_code == 201
    message.refresh_from_db()
    assert message.status == MessageStatus.SKIPPED
    listed = api.get(url).json()["results"]
    assert [row["kind"] for row in listed] == ["promise", "paid"]


def test_a_promise_without_its_date_is_a_problem_and_records_nothing(api):
    debtor = DebtorFactory()
    response = api.post_json(
        f"/api/v1/debtors/{debtor.pk}/dispositions/", {"kind": "promise", "amount": "10"}
    )
    assert response.status_code in (400, 422)
    assert "date" in response.json()["errors"]
    assert not Disposition.objects.exists()


def test_the_debtor_list_carries_dispositions_without_a_query_per_row(
    api, django_assert_max_num_queries
):
    for debtor in DebtorFactory.create_batch(20):
        debtor_disposition_record(debtor=debtor, kind="no_answer", by=None)
    with django_assert_max_num_queries(8):
        rows = api.get("/api/v1/debtors/", {"limit": 20}).json()["results"]
    assert {row["disposition"]["kind"] for row in rows} == {"no_answer"}
    untouched = DebtorFactory()
    listed = api.get("/api/v1/debtors/", {"disposition": "none"}).json()["results"]
    assert [row["id"] for row in listed] == [untouched.pk]


def test_a_debtors_time_zone_is_read_and_changed_through_the_api(api):
    debtor = DebtorFactory(time_zone="")
    url = f"/api/v1/debtors/{debtor.pk}/"
    assert api.get(url).json()["time_zone"] == ""
    response = api.patch_json(url, {"time_zone": "america/mexico_city"})
    assert response.status_code == 200, response.content
    assert response.json()["time_zone"] == "America/Mexico_City"
    refused = api.patch_json(url, {"time_zone": "Mexico"})
    assert refused.status_code == 400
    assert "time_zone" in refused.json()["errors"]
    debtor.refresh_from_db()
    assert debtor.time_zone == "America/Mexico_City"


def test_the_opted_out_filter_applies_only_when_given(api):
    DebtorFactory(opted_out=True)
    DebtorFactory()
    assert len(api.get("/api/v1/debtors/").json()["results"]) == 2
    only = api.get("/api/v1/debtors/", {"opted_out": "true"}).json()["results"]
    assert [debtor["opted_out"] for debtor in only] == [True]
    assert api.get("/api/v1/debtors/", {"opted_out": ""}).status_code == 400


def test_one_debtor_is_judged_as_a_bulk_row_is(api):
    created = api.post_json("/api/v1/debtors/", {"phone": 3001234567, "amount": 1500.5})
    assert created.status_code == 201, created.content
    assert (created.json()["phone"], created.json()["amount"]) == ("+573001234567", "1500.50")
    refused = api.post_json("/api/v1/debtors/", {"phone": "3007654321", "name": 12})
    assert refused.status_code == 422
    assert [row["reason"] for row in refused.json()["rows"]] == ["name must be text"]
    assert api.post_json("/api/v1/debtors/", ["3007654321"]).status_code == 400
    phoneless = api.post_json("/api/v1/debtors/", {"name": "Ana"})
    assert phoneless.status_code == 422
    assert [(row["field"], row["reason"]) for row in phoneless.json()["rows"]] == [
        ("phone", "phone is blank")
    ]
    assert Debtor.objects.count() == 1


def test_an_upload_through_the_api_is_checked_as_the_wizard_checks_it(api):
    def upload(content):
        return api.post(
            "/api/v1/imports/",
            {"file": SimpleUploadedFile("deudores.csv", content), "update_existing": "true"},
        )

    created = upload(b"nombre,celular\nAna,3001234567\n")
    assert created.status_code == 201, created.content
    assert (created.json()["original_filename"], created.json()["update_existing"]) == (
        "deudores.csv",
        True,
    )
    # An empty file is the product's refusal with its reason, not a malformed request.
    empty = upload(b"")
    assert (empty.status_code, empty.json()["errors"]) == (422, {"file": ["The file is empty."]})

    # A form part is a value as the schema spells it: not blank, not a form's "on" or 1.
    def form(**parts):
        rows = SimpleUploadedFile("deudores.csv", b"nombre,celular\nAna,3001234567\n")
        return api.post("/api/v1/imports/", {"file": rows, **parts})

    assert form(region="", update_existing="1").json()["errors"] == {
        "region": ["Must not be blank: leave the part out for the default."]
    }
    assert form(update_existing="on").json()["errors"] == {
        "update_existing": ['Must be "true" or "false".']
    }
    assert form(region="MX", update_existing="false").json()["region"] == "MX"
    # The submit is JSON: its boolean is a JSON boolean.
    submit = f"/api/v1/imports/{created.json()['id']}/submit/"
    refused = api.post_json(submit, {"update_existing": "true"})
    assert (refused.status_code, refused.json()["errors"]) == (
        400,
        {"update_existing": ["Must be true or false."]},
    )
