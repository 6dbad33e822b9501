"""The engine and what WhatsApp tells about numbers and accounts: checks, LIDs, restrictions."""

import pytest
from django.utils import timezone

from campaigns.engine import Pacer, engine_send_next, messages_apply_incoming
from campaigns.models import Message, MessageStatus
from campaigns.services import campaign_start
from debtors.models import Debtor, DebtorStatus, OnWhatsApp
from sessions_app.drivers.base import AccountRestricted, IncomingMessage, NumberUnconfirmed
from tests.factories import CampaignFactory, DebtorFactory, PoolFactory, PoolMemberFactory

pytestmark = pytest.mark.django_db


def _campaign_for(session):
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=session)
    return campaign_start(campaign=CampaignFactory(pool=pool))


def _drain(session, driver, *, limit=100):
    pacer = Pacer.load(session)
    for _ in range(limit):
        if engine_send_next(session=session, driver=driver, pacer=pacer) >= 1:
            return
    pytest.fail("the send loop never ran out of messages")


def _counting_checks(driver):
    asked = []
    original = driver.check_number

    def check_number(*, phone_e164):
        asked.append(phone_e164)
        return original(phone_e164=phone_e164)

    driver.check_number = check_number
    return asked


def test_the_first_message_to_a_number_asks_whatsapp_and_remembers_the_answer(
    connected_account,
):
    session, driver = connected_account()
    present = DebtorFactory(phone_e164="+573005550001")
    absent = DebtorFactory(phone_e164="+573005551000")
    asked = _counting_checks(driver)
    _campaign_for(session)

    _drain(session, driver)

    assert sorted(asked) == ["+573005550001", "+573005551000"]
    present.refresh_from_db()
    absent.refresh_from_db()
    assert present.on_whatsapp == OnWhatsApp.YES
    assert present.whatsapp_checked_at is not None
    assert absent.on_whatsapp == OnWhatsApp.NO
    assert absent.status == DebtorStatus.UNREACHABLE
    assert Message.objects.get(debtor=absent).status == MessageStatus.FAILED


def test_a_later_campaign_skips_known_absent_numbers_and_asks_nothing_again(connected_account):
    session, driver = connected_account()
    DebtorFactory(phone_e164="+573005560001", on_whatsapp=OnWhatsApp.YES)
    absent = DebtorFactory(phone_e164="+573005561000", on_whatsapp=OnWhatsApp.NO)
    asked = _counting_checks(driver)
    _campaign_for(session)

    _drain(session, driver)

    assert asked == []
    skipped = Message.objects.get(debtor=absent)
    assert skipped.status == MessageStatus.SKIPPED
    assert "Not on WhatsApp" in skipped.last_error
    assert Message.objects.exclude(debtor=absent).get().status == MessageStatus.SENT


def test_no_answer_to_the_number_check_is_retried_and_only_every_attempt_failing_is_absence(
    connected_account, settings, send_log
):
    settings.ENGINE_MAX_ATTEMPTS = 3
    session, driver = connected_account()
    debtor = DebtorFactory(phone_e164="+573005570001")
    answers = []

    def no_answer(*, phone_e164):
        answers.append(phone_e164)
        raise NumberUnconfirmed(f"WhatsApp did not confirm that {phone_e164} has an account")

    driver.check_number = no_answer
    _campaign_for(session)

    _drain(session, driver)

    message = Message.objects.get()
    debtor.refresh_from_db()
    assert len(answers) == 3
    assert message.status == MessageStatus.FAILED
    assert debtor.on_whatsapp == OnWhatsApp.NO
    assert send_log() == []


def test_a_send_refused_before_it_left_goes_back_to_pending_for_another_account(
    connected_account, send_log
):
    session, driver = connected_account()
    DebtorFactory(phone_e164="+573005580001")

    def refused(**kwargs):
        raise AccountRestricted("WhatsApp refused it (ack -1)", sent=False, wa_message_id="x")

    driver.send_text = refused
    _campaign_for(session)

    engine_send_next(session=session, driver=driver, pacer=Pacer.load(session))

    message = Message.objects.get()
    assert message.status == MessageStatus.PENDING
    assert message.session_id is None
    assert message.attempts == 0
    assert message.wa_message_id == ""
    assert "ack -1" in message.last_error


def test_a_restriction_met_after_the_message_may_have_left_is_unknown(connected_account):
    session, driver = connected_account()
    DebtorFactory(phone_e164="+573005590001")

    def refused_late(**kwargs):
        raise AccountRestricted("restricted after the server ack", sent=True, wa_message_id="w1")

    driver.send_text = refused_late
    _campaign_for(session)

    engine_send_next(session=session, driver=driver, pacer=Pacer.load(session))

    message = Message.objects.get()
    assert message.status == MessageStatus.UNKNOWN
    assert message.wa_message_id == "w1"


def test_a_stop_from_a_lid_sender_opts_out_the_debtor_who_has_that_lid(connected_account):
    session, _driver = connected_account()
    debtor = DebtorFactory(phone_e164="+573005600001", whatsapp_lid="123456789012345@lid")
    later = DebtorFactory(phone_e164="+573005600002")
    _campaign_for(session)

    messages_apply_incoming(
        session=session,
        incoming=[
            IncomingMessage("", "STOP", timezone.now(), lid="123456789012345@lid"),
            IncomingMessage("+573005600002", "Ya pagué", timezone.now(), lid="999@lid"),
        ],
    )

    debtor.refresh_from_db()
    later.refresh_from_db()
    assert debtor.opted_out
    assert Message.objects.get(debtor=debtor).status == MessageStatus.SKIPPED
    # A reply naming both the number and the LID teaches the debtor its LID.
    assert later.whatsapp_lid == "999@lid"
    assert Debtor.objects.get(whatsapp_lid="999@lid") == later
