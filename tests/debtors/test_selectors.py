import datetime

import pytest
from django.utils import timezone

from debtors.selectors import debtor_message_history
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
