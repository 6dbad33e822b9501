import datetime

import pytest
from django.db import connection
from django.utils import timezone

from debtors.selectors import debtor_message_history, debtor_search
from tests.factories import DebtorFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_the_message_history_holds_only_the_debtors_messages_newest_first(
    django_assert_num_queries,
):
    debtor = DebtorFactory()
    first = MessageFactory(debtor=debtor)
    second = MessageFactory(debtor=debtor)
    MessageFactory()
    first.created_at = timezone.now() - datetime.timedelta(days=3)
    first.save(update_fields=["created_at"])
    # Campaign and account come with the messages, their replies in one more query.
    with django_assert_num_queries(2):
        history = [
            (m, m.campaign.name, m.session, list(m.replies.all()))
            for m in debtor_message_history(debtor=debtor)
        ]
    assert [message for message, _, _, _ in history] == [second, first]


@pytest.fixture
def named_debtors():
    return {
        name: DebtorFactory(name=name, reference=reference)
        for name, reference in [
            ("José Peña", "CR-A1"),
            ("Jose Pena", "CR-B2"),
            ("MARÍA ÑÚÑEZ", "cr-c3"),
            ("Andrés Gómez", "CR-D4"),
        ]
    }


@pytest.mark.parametrize(
    ("q", "found"),
    [
        ("jose", {"José Peña", "Jose Pena"}),
        ("PEÑA", {"José Peña", "Jose Pena"}),
        ("josé peña", {"José Peña", "Jose Pena"}),
        ("nunez", {"MARÍA ÑÚÑEZ"}),
        ("Ñúñez", {"MARÍA ÑÚÑEZ"}),
        ("gomez", {"Andrés Gómez"}),
        ("cr-a1", {"José Peña"}),
        ("CR-C3", {"MARÍA ÑÚÑEZ"}),
        ("CR-", set()),
        ("100%", set()),
        ("jos_", set()),
    ],
)
def test_the_search_ignores_accents_and_case_of_names_and_references(named_debtors, q, found):
    assert {debtor.name for debtor in debtor_search(q=q)} == found


def test_the_inbox_the_audience_and_the_admin_search_as_the_list_does(named_debtors, staff_user):
    from django.contrib.admin.sites import site
    from django.test import RequestFactory

    from campaigns.audience import audience_filtered
    from debtors.models import Debtor

    assert {d.name for d in audience_filtered({"search": "pena"})} == {"José Peña", "Jose Pena"}
    request = RequestFactory().get("/admin/debtors/debtor/", {"q": "ñunez"})
    request.user = staff_user
    results, _ = site._registry[Debtor].get_search_results(request, Debtor.objects.all(), "ñunez")
    assert [d.name for d in results] == ["MARÍA ÑÚÑEZ"]


def test_the_name_and_reference_search_can_be_served_by_their_indexes(named_debtors):
    # Four rows are cheaper to scan, so scans are priced out to show the indexes match the
    # search's expressions (bench/debtor_search.py shows the planner picks them at 100k):
    # with plain index scans off too, only an index condition can serve the filter, whatever
    # the table's statistics say after the tests before this one.
    query = debtor_search(q="peña").select_related(None).only("id").order_by().query
    sql, params = query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "debtor_name_search_trgm" in plan
    assert "debtor_reference_upper" in plan
    assert "Seq Scan" not in plan
