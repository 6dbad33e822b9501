"""Every operation of our own OpenAPI schema, with valid and invalid data: no 5xx, and every
response (problems included) conforms to what the schema says."""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from api.throttling import KeyRateThrottle
from tests.factories import CampaignFactory, DebtorFactory, PoolFactory, WhatsAppSessionFactory

EXAMPLES_PER_OPERATION = 5


# Loaded once when the tests are collected: Django's WSGI application serves the schema.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
schema.config.generation.update(max_examples=EXAMPLES_PER_OPERATION, database="none")
# Random valid and invalid data (both generation modes); the coverage phase, which walks
# every boundary of every field, would multiply the run time for little more.
schema.config.phases.update(phases=["examples", "fuzzing"])


@pytest.fixture(autouse=True)
def _wsgi_requests_keep_the_test_transaction(db, monkeypatch):
    # Like Django's test client: requests must not close the test's connection (and with it
    # the transaction every test runs in). Throttling would answer 429 to most examples.
    monkeypatch.setattr(KeyRateThrottle, "THROTTLE_RATES", {"key": "100000/min"})
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def some_objects(db):
    """Objects with ids 1.. exist, so generated ids reach the views past their 404s."""
    pool = PoolFactory()
    DebtorFactory.create_batch(3)
    WhatsAppSessionFactory()
    CampaignFactory(pool=pool)


# Input the schema takes but the product's rules refuse (an unknown pool id, a phone that is
# not a phone, a host name that does not resolve) is answered 422; 400 is for input the
# schema itself excludes. So valid data may be refused only with 422.
schema.config.checks.positive_data_acceptance.expected_statuses = [
    *schema.config.checks.positive_data_acceptance.expected_statuses,
    "422",
]


@schema.hook
def filter_body(ctx, body):
    # The test client cannot send an empty multipart part: an empty array sends none, and it
    # writes an empty value without the line break that ends it, so Django drops the part.
    # Either way the request is another one (the field left out) than the one generated.
    if ctx.operation.path != "/api/v1/imports/" or not isinstance(body, dict):
        return True
    return not any(value in ([], "") for value in body.values())


@schema.parametrize()
# The fixtures (a key, a few objects) hold for every example: none changes them in a way
# that matters to the next. The upload's filter above drops many of its examples (blank
# values are common draws); those left are enough.
@settings(
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
    deadline=None,
)
def test_the_api_keeps_to_its_schema(case, write_key, some_objects):
    case.call_and_validate(headers={"Authorization": f"Bearer {write_key}"})
