"""The inbox in two operators' windows against daphne, the worker and beat."""

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By

from campaigns.engine import messages_apply_incoming
from inbox.models import Conversation
from sessions_app.drivers.base import IncomingMessage as Received
from tests.conftest import role_user
from tests.e2e.test_operator_console import PASSWORD, click, log_in, text_of, visible, wait_for
from tests.factories import DebtorFactory, WhatsAppSessionFactory
from whatsmassive import roles

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_reply_appears_live_and_operator_b_sees_a_assign_it(live_url, new_browser, screenshot):
    alice, bob = role_user(roles.OPERATOR), role_user(roles.OPERATOR)
    for user in (alice, bob):
        user.set_password(PASSWORD)
        user.save()
    a, b = new_browser(), new_browser()
    log_in(a, live_url, alice)
    log_in(b, live_url, bob)
    a.get(f"{live_url}/inbox/")
    visible(a, "#inbox-list")
    wait_for(a, lambda page: page.find_element(By.ID, "nav-inbox").get_attribute("data-live"))

    debtor = DebtorFactory(name="Lucía Restrepo")
    account = WhatsAppSessionFactory(name="Cobros 1")
    messages_apply_incoming(
        session=account,
        incoming=[
            Received(
                debtor.phone_e164, "¿Me puede llamar mañana?", timezone.now(), wa_message_id="w1"
            )
        ],
    )
    wait_for(a, lambda page: "Lucía Restrepo" in text_of(page, "#inbox-list"))
    wait_for(a, lambda page: text_of(page, "#inbox-unread") == "1")
    screenshot(a, "inbox-unread-reply")

    conversation = Conversation.objects.get()
    b.get(f"{live_url}/inbox/{conversation.pk}/")
    visible(b, "#conversation-assignment")
    wait_for(
        b,
        lambda page: page.find_element(
            By.CSS_SELECTOR, "[ws-connect^='/ws/conversations/']"
        ).get_attribute("data-live"),
    )
    a.get(f"{live_url}/inbox/{conversation.pk}/")
    click(a, "#conversation-assignment", "Assign to me")
    wait_for(b, lambda page: alice.username in text_of(page, "#conversation-assignment"))
    screenshot(a, "conversation-assigned")
    screenshot(b, "conversation-seen-by-b")
