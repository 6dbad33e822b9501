import pytest

from api.services import api_key_create
from api.throttling import KeyRateThrottle
from tests.api.conftest import KeyClient
from tests.factories import UserFactory

PROBLEM = "application/problem+json"


def _is_problem(response, status):
    assert response.status_code == status
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert {"type", "title", "detail"} <= set(body)
    return body


@pytest.mark.django_db
def test_it_answers_401_problem_without_a_key(client):
    body = _is_problem(client.get("/api/v1/debtors/"), 401)
    assert "credentials" in body["detail"].lower()


@pytest.mark.django_db
def test_it_refuses_an_unknown_key():
    _is_problem(KeyClient("nope.nothing").get("/api/v1/debtors/"), 401)


def test_unknown_addresses_and_methods_are_problems_not_html(api):
    _is_problem(api.get("/api/v1/nothing-here/"), 404)
    _is_problem(api.get("/api/v1/debtors"), 404)  # no redirect page for a missing slash
    _is_problem(api.get("/api/v1/debtors/999999/"), 404)
    _is_problem(api.delete("/api/v1/debtors/"), 405)


def test_bad_bodies_are_problems(api):
    _is_problem(api.post("/api/v1/pools/", data="{not json", content_type="application/json"), 400)
    _is_problem(api.post("/api/v1/pools/", data="x", content_type="text/plain"), 415)
    body = _is_problem(api.post_json("/api/v1/pools/", {"strategy": "nope"}), 400)
    assert set(body["errors"]) == {"name", "strategy"}


@pytest.mark.django_db
def test_a_read_key_cannot_write():
    user = UserFactory(is_superuser=True)
    _, secret = api_key_create(user=user, name="reader", scope="read")
    reader = KeyClient(secret)
    assert reader.get("/api/v1/pools/").status_code == 200
    _is_problem(reader.post_json("/api/v1/pools/", {"name": "P", "strategy": "competitive"}), 403)


@pytest.mark.django_db
def test_a_key_does_no_more_than_its_owner():
    user = UserFactory()  # no permissions at all
    _, secret = api_key_create(user=user, name="weak", scope="write")
    body = _is_problem(KeyClient(secret).get("/api/v1/debtors/"), 403)
    assert "debtors.view_debtor" in body["detail"]
    user.is_active = False
    user.save()
    _is_problem(KeyClient(secret).get("/api/v1/debtors/"), 401)


def test_it_throttles_per_key_with_retry_after(api, monkeypatch):
    monkeypatch.setattr(KeyRateThrottle, "THROTTLE_RATES", {"key": "3/min"})
    statuses = [api.get("/api/v1/pools/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = api.get("/api/v1/pools/")
    _is_problem(response, 429)
    assert int(response["Retry-After"]) >= 1


def test_it_records_the_key_last_use(api, write_key):
    from whatsmassive.models import APIKey

    api.get("/api/v1/pools/")
    key = APIKey.objects.get_from_key(write_key)
    assert key.last_used_at is not None


def test_input_off_the_schema_is_a_400_and_input_the_rules_refuse_a_422(api):
    off_schema = _is_problem(api.post_json("/api/v1/pools/", {"strategy": "competitive"}), 400)
    assert off_schema["type"].endswith(":invalid")
    assert "name" in off_schema["errors"]

    refused = _is_problem(
        api.post_json("/api/v1/campaigns/", {"name": "X", "template": "Hola", "pool": 999999}), 422
    )
    assert refused["type"].endswith(":refused")
    assert "pool" in refused["errors"]


def test_a_filter_given_blank_is_refused_as_the_schema_says(api):
    body = _is_problem(api.get("/api/v1/campaigns/", {"status": "", "limit": ""}), 400)
    assert set(body["errors"]) == {"status", "limit"}
