"""The inbox in two operators' windows against daphne, the worker and beat, on the sandbox."""

import datetime

import pytest
from django.utils import timezone
from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select

from campaigns.models import Message, MessageKind, MessageStatus
from debtors.models import Disposition, DispositionKind
from debtors.services import dispositions_mark_broken
from inbox.models import Conversation
from sessions_app.drivers import profile_dir_for
from sessions_app.drivers.sandbox import simulate_reply, simulate_scan
from sessions_app.models import SessionStatus, WhatsAppSession
from sessions_app.services import session_connect
from tests.conftest import role_user, wait_until
from tests.e2e.test_operator_console import PASSWORD, click, log_in, text_of, visible, wait_for
from tests.factories import (
    DebtorFactory,
    MessageFactory,
    WhatsAppSessionFactory,
    running_campaign,
)
from whatsmassive import clock, roles

pytestmark = pytest.mark.django_db(transaction=True)

QUICK_TEXT = "Gracias {name}, le confirmamos el acuerdo por {amount}."


def _connected_account(name: str) -> WhatsAppSession:
    """An account whose host runs in the worker, linked on the sandbox network."""
    session = WhatsAppSessionFactory.create(name=name)
    session_connect(session=session, by=role_user(roles.SUPERVISOR))
    wait_until(
        lambda: WhatsAppSession.objects.filter(
            pk=session.pk, status=SessionStatus.WAITING_QR
        ).exists(),
        timeout=60,
        message="the account's host showed no QR code",
    )
    simulate_scan(profile_dir_for(session_id=session.pk))
    wait_until(
        lambda: WhatsAppSession.objects.filter(
            pk=session.pk, status=SessionStatus.CONNECTED
        ).exists(),
        timeout=60,
        message="the account did not link",
    )
    session.refresh_from_db()
    return session


def _operator(name: str):
    user = role_user(roles.OPERATOR)
    user.username = name
    user.set_password(PASSWORD)
    user.save()
    return user


def _live(browser, css):
    wait_for(
        browser, lambda page: page.find_element(By.CSS_SELECTOR, css).get_attribute("data-live")
    )


def _record(browser, conversation_pk, kind, *, amount="", date=None):
    """Record a disposition from the conversation page's form (an htmx swap)."""
    form = browser.find_element(By.CSS_SELECTOR, "form.disposition-form")
    Select(form.find_element(By.NAME, "kind")).select_by_value(kind)
    if amount:
        form.find_element(By.NAME, "amount").send_keys(amount)
    if date is not None:
        browser.execute_script(
            "arguments[0].value = arguments[1]",
            form.find_element(By.NAME, "date"),
            date.isoformat(),
        )
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def _add_quick_reply(browser, live_url, title, text):
    """A supervisor writes a quick reply from the inbox's quick replies page."""
    browser.get(f"{live_url}/inbox/")
    browser.find_element(By.LINK_TEXT, "Quick replies").click()
    form = visible(browser, "#quick-reply-form")
    form.find_element(By.NAME, "title").send_keys(title)
    form.find_element(By.NAME, "text").send_keys(text)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, lambda page: "Quick reply saved." in page.page_source)
    assert text in text_of(browser, "#quick-replies")


def test_two_operators_answer_a_sandbox_reply_live_and_record_what_came_of_it(
    live_url, new_browser, screenshot, send_log
):
    alice, bob = _operator("alice"), _operator("bob")
    account = _connected_account("Cobros 1")
    debtor = DebtorFactory(name="Lucía Restrepo")
    # Another campaign, running, still to reach Lucía through an account that is not online.
    other_campaign = running_campaign()
    waiting = MessageFactory(campaign=other_campaign, debtor=debtor, body="Recordatorio")

    supervisor = role_user(roles.SUPERVISOR)
    supervisor.set_password(PASSWORD)
    supervisor.save()
    boss = new_browser()
    log_in(boss, live_url, supervisor)
    _add_quick_reply(boss, live_url, "Acuerdo", QUICK_TEXT)
    screenshot(boss, "inbox-quick-replies")

    a, b = new_browser(), new_browser()
    log_in(a, live_url, alice)
    log_in(b, live_url, bob)
    a.get(f"{live_url}/inbox/")
    visible(a, "#inbox-list")
    _live(a, "#nav-inbox")

    simulate_reply(
        profile_dir_for(session_id=account.pk),
        phone_e164=debtor.phone_e164,
        text="¿Me puede llamar mañana?",
    )
    wait_for(a, lambda page: "Lucía Restrepo" in text_of(page, "#inbox-list"))
    wait_for(a, lambda page: text_of(page, "#inbox-unread") == "1")
    screenshot(a, "inbox-unread-reply")

    conversation = Conversation.objects.get()
    url = f"{live_url}/inbox/{conversation.pk}/"
    b.get(url)
    visible(b, "#conversation-assignment")
    _live(b, "[ws-connect^='/ws/conversations/']")
    a.get(url)
    _live(a, "[ws-connect^='/ws/conversations/']")
    assert "¿Me puede llamar mañana?" in text_of(a, "#conversation-thread")

    click(a, "#conversation-assignment", "Assign to me")
    wait_for(a, lambda page: "alice" in text_of(page, "#conversation-assignment .assignee"))
    wait_for(b, lambda page: "alice" in text_of(page, "#conversation-assignment .assignee"))
    screenshot(b, "inbox-b-sees-assignment")

    expected = "Gracias Lucía Restrepo, le confirmamos el acuerdo por"
    Select(a.find_element(By.NAME, "quick_reply")).select_by_visible_text("Acuerdo")
    wait_for(
        a,
        lambda page: (
            page.find_element(By.ID, "answer-text").get_property("value").startswith(expected)
        ),
    )
    screenshot(a, "inbox-quick-reply-picked")
    click(a, "#conversation-answer", "Send answer")
    wait_for(a, lambda page: "Answer queued" in text_of(page, "#conversation-answer"))
    assert a.find_element(By.ID, "answer-text").get_property("value") == ""

    gone_out = [MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ]
    answer = wait_until(
        lambda: Message.objects.filter(kind=MessageKind.REPLY, status__in=gone_out).first(),
        timeout=60,
        message="the answer was not sent",
    )
    assert answer.body.startswith(expected)
    assert answer.session == account
    wait_for(b, lambda page: expected in text_of(page, "#conversation-thread"))
    # The answer's own entry: the sandbox may have the debtor answer it, after it in the thread.
    sent_badge = (
        "//*[@id='conversation-thread']//li[contains(@class, 'outgoing')]"
        f"[p[starts-with(., '{expected}')]]//span[contains(@class, 'badge-sent')"
        " or contains(@class, 'badge-delivered') or contains(@class, 'badge-read')]"
    )
    wait_for(a, lambda page: page.find_elements(By.XPATH, sent_badge))
    screenshot(a, "inbox-answer-sent")
    answers = [row for row in send_log() if row[0] == answer.wa_message_id]
    assert answers == [(answer.wa_message_id, account.profile_dir_path.name, debtor.phone_e164)]
    assert [row[2] for row in send_log()] == [debtor.phone_e164]

    # Another reply: Alice's badge counts it, Bob's does not (the conversation is hers).
    b.get(f"{live_url}/inbox/")
    _live(b, "#nav-inbox")
    wait_for(b, lambda page: text_of(page, "#inbox-unread") == "")
    simulate_reply(
        profile_dir_for(session_id=account.pk), phone_e164=debtor.phone_e164, text="Ya pagué"
    )
    wait_for(a, lambda page: text_of(page, "#inbox-unread") == "1")
    wait_for(b, lambda page: "Ya pagué" in text_of(page, "#inbox-list"))
    assert text_of(b, "#inbox-unread") == ""
    screenshot(b, "inbox-b-list-without-alices-unread")

    promised_for = timezone.localdate() + datetime.timedelta(days=3)
    _record(a, conversation.pk, DispositionKind.PROMISE, amount="50000", date=promised_for)
    wait_for(a, lambda page: "promise to pay" in text_of(page, ".current-disposition"))
    with clock.moved_to(timezone.now() + datetime.timedelta(days=5)):
        assert dispositions_mark_broken() == 1
    a.get(url)
    wait_for(a, lambda page: "(broken)" in text_of(page, ".current-disposition"))
    assert Disposition.objects.get().broken_on == promised_for + datetime.timedelta(days=2)
    screenshot(a, "inbox-promise-broken")

    _record(a, conversation.pk, DispositionKind.PAID)
    wait_for(a, lambda page: "paid" in text_of(page, ".current-disposition").lower())
    waiting.refresh_from_db()
    assert waiting.status == MessageStatus.SKIPPED
    wait_for(
        a, lambda page: page.find_elements(By.CSS_SELECTOR, "#conversation-thread .badge-skipped")
    )
    screenshot(a, "inbox-debtor-paid")
    assert [row[2] for row in send_log()] == [debtor.phone_e164]
