import datetime
import threading
from collections import Counter

import pytest
from django.db import connection
from django.db.models import Count
from django.utils import timezone

from campaigns.engine import (
    NobodyLeft,
    Pacer,
    assign_members,
    engine_send_next,
    messages_apply_acks,
    messages_apply_incoming,
    messages_hand_over,
    sending,
)
from campaigns.engine.claims import claim_next
from campaigns.models import (
    DO_NOT_CONTACT_REASON,
    OPTED_OUT_REASON,
    CampaignStatus,
    Message,
    MessageStatus,
)
from campaigns.services import campaign_pause, campaign_start
from campaigns.sweep import messages_mark_orphans_unknown
from debtors.models import Debtor, DebtorStatus, DispositionKind, DoNotContact, OptOutSource
from debtors.services import debtor_disposition_record
from inbox.models import IncomingMessage as ReceivedMessage
from sessions_app.drivers.base import (
    Ack,
    AckStatus,
    IncomingMessage,
    SendError,
    SendOutcomeUnknown,
)
from sessions_app.models import AccountChat, PoolStrategy, SessionStatus, WhatsAppSession
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    PoolFactory,
    PoolMemberFactory,
)
from webhooks.models import EventType, WebhookEvent
from webhooks.services import endpoint_create, subscriptions
from whatsmassive.models import AuditKind, AuditRecord

pytestmark = pytest.mark.django_db

# These tests message the same debtors again within days: past the re-contact guard.
AGAIN = {"include_recent": True}


def _running_campaign(*accounts, strategy=PoolStrategy.COMPETITIVE, debtors=5, **fields):
    pool = PoolFactory(strategy=strategy)
    for position, account in enumerate(accounts):
        PoolMemberFactory(pool=pool, session=account, position=position)
    DebtorFactory.create_batch(debtors)
    return campaign_start(campaign=CampaignFactory(pool=pool, **fields))


def _drain(session, driver, *, limit=10_000):
    pacer = Pacer.load(session)
    for _ in range(limit):
        if engine_send_next(session=session, driver=driver, pacer=pacer) >= 1:
            return
    pytest.fail("the send loop never ran out of messages")


def test_an_account_sends_every_message_of_its_pool_once(connected_account, send_log):
    session, driver = connected_account()
    campaign = _running_campaign(session, debtors=7)
    _drain(session, driver)
    messages = Message.objects.filter(campaign=campaign)
    assert set(messages.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert sorted(phone for _, _, phone in send_log()) == sorted(
        messages.values_list("debtor__phone_e164", flat=True)
    )
    assert all(m.wa_message_id and m.sent_at and m.attempts == 1 for m in messages)
    assert set(Debtor.objects.values_list("status", flat=True)) == {DebtorStatus.SENT}


def test_the_rendered_body_is_what_reaches_whatsapp(connected_account):
    session, driver = connected_account()
    DebtorFactory(name="Lucía Peña", reference="CR-9", phone_e164="+573001234567")
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=session)
    campaign_start(campaign=CampaignFactory(pool=pool, template="Hola {name}\nRef {reference} 👋"))
    sent = []
    original = driver.send_text
    driver.send_text = lambda **kw: sent.append(kw) or original(**kw)
    _drain(session, driver)
    # Sent under the id committed on the message before the send.
    assert sent == [
        {
            "phone_e164": "+573001234567",
            "text": "Hola Lucía Peña\nRef CR-9 👋",
            "message_id": Message.objects.get().wa_message_id,
        }
    ]


def _nothing_claimed():
    return set(Message.objects.values_list("status", "session")) == {(MessageStatus.PENDING, None)}


def test_an_account_outside_the_pool_claims_nothing(connected_account, send_log):
    member, _ = connected_account()
    outsider, driver = connected_account()
    _running_campaign(member)
    assert engine_send_next(session=outsider, driver=driver, pacer=Pacer.load(outsider)) >= 1
    assert _nothing_claimed()
    assert send_log() == []


def test_a_disabled_member_claims_nothing(connected_account, send_log):
    session, driver = connected_account()
    campaign = _running_campaign(session)
    campaign.pool.members.update(enabled=False)
    assert engine_send_next(session=session, driver=driver, pacer=Pacer.load(session)) >= 1
    assert _nothing_claimed()
    assert send_log() == []


def test_a_message_is_sent_under_a_lease_held_by_the_account(connected_account):
    session, driver = connected_account()
    _running_campaign(session, debtors=1)
    seen = []
    original = driver.send_text

    def send_and_look(**kwargs):
        seen.append(Message.objects.values("status", "session", "lease_until").get())
        return original(**kwargs)

    driver.send_text = send_and_look
    engine_send_next(session=session, driver=driver, pacer=Pacer.load(session))
    [during] = seen
    assert (during["status"], during["session"]) == (MessageStatus.SENDING, session.pk)
    assert during["lease_until"] > timezone.now()


def test_a_campaign_paused_right_after_the_claim_gets_its_message_back_unsent(
    connected_account, send_log, monkeypatch
):
    session, driver = connected_account()
    campaign = _running_campaign(session)

    def claim_then_pause(*args, **kwargs):
        claim = claim_next(*args, **kwargs)
        campaign_pause(campaign=campaign)  # in the claim's transaction: begin_sending sees it
        return claim

    monkeypatch.setattr(sending, "claim_next", claim_then_pause)
    engine_send_next(session=session, driver=driver, pacer=Pacer.load(session))
    assert _nothing_claimed()
    assert send_log() == []


def test_a_pause_stops_claims_at_once_while_the_account_is_busy(connected_account):
    session, driver = connected_account()
    campaign = _running_campaign(session, debtors=3)
    pacer = Pacer.load(session)
    engine_send_next(session=session, driver=driver, pacer=pacer)
    campaign_pause(campaign=campaign)
    # The account still lists the campaign as running; the claim itself looks again.
    assert engine_send_next(session=session, driver=driver, pacer=pacer) >= 1
    statuses = Counter(Message.objects.values_list("status", flat=True))
    assert statuses == {MessageStatus.SENT: 1, MessageStatus.PENDING: 2}


def test_a_campaign_started_while_the_account_is_busy_is_sent_too(connected_account, send_log):
    session, driver = connected_account()
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=session)
    DebtorFactory.create_batch(3)
    campaign_start(campaign=CampaignFactory(pool=pool))
    pacer = Pacer.load(session)
    engine_send_next(session=session, driver=driver, pacer=pacer)
    campaign_start(campaign=CampaignFactory(pool=pool, audience=AGAIN))
    for _ in range(20):
        engine_send_next(session=session, driver=driver, pacer=pacer)
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    assert len(send_log()) == 6


def test_a_message_given_back_behind_the_account_is_still_sent_once(connected_account, send_log):
    session, driver = connected_account()
    _running_campaign(session, debtors=4)
    first = Message.objects.order_by("id").first()
    original = driver.send_text
    failures = []

    def flaky_once(*, phone_e164, text, message_id=None):
        if phone_e164 == first.debtor.phone_e164 and not failures:
            failures.append(phone_e164)
            raise SendError("timed out opening the chat", permanent=False)
        return original(phone_e164=phone_e164, text=text, message_id=message_id)

    driver.send_text = flaky_once
    _drain(session, driver)
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
    phones = [phone for _, _, phone in send_log()]
    assert sorted(phones) == sorted(set(phones))
    assert len(phones) == 4


def test_a_send_that_outlived_its_lease_stays_unknown(connected_account, send_log):
    session, driver = connected_account()
    _running_campaign(session, debtors=1)
    original = driver.send_text

    def slow_send(**kwargs):
        # The sweep gave up on the message while WhatsApp was still taking it.
        messages_mark_orphans_unknown(session_id=session.pk)
        return original(**kwargs)

    driver.send_text = slow_send
    engine_send_next(session=session, driver=driver, pacer=Pacer.load(session))
    message = Message.objects.get()
    assert message.status == MessageStatus.UNKNOWN
    assert len(send_log()) == 1
    assert Debtor.objects.get().status == DebtorStatus.NEW
    assert WhatsAppSession.objects.get(pk=session.pk).sent_count == 0


def test_a_debtor_who_opted_out_after_the_start_is_skipped(connected_account, send_log):
    session, driver = connected_account()
    campaign = _running_campaign(session, debtors=1)
    Debtor.objects.update(opted_out=True)
    _drain(session, driver)
    assert Message.objects.get(campaign=campaign).status == MessageStatus.SKIPPED
    assert send_log() == []


def test_a_number_not_on_whatsapp_fails_at_once_and_marks_the_debtor(connected_account):
    session, driver = connected_account()
    DebtorFactory(phone_e164="+573001112000")
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=session)
    campaign_start(campaign=CampaignFactory(pool=pool))
    _drain(session, driver)
    message = Message.objects.get()
    assert message.status == MessageStatus.FAILED
    assert message.attempts == 1
    assert "not on WhatsApp" in message.last_error
    assert Debtor.objects.get().status == DebtorStatus.UNREACHABLE
    session.refresh_from_db()
    assert session.failed_count == 1


def test_temporary_errors_are_retried_up_to_the_cap(connected_account, settings):
    settings.ENGINE_MAX_ATTEMPTS = 3
    session, driver = connected_account()
    _running_campaign(session, debtors=1)

    def flaky(**kwargs):
        raise SendError("timed out opening the chat", permanent=False)

    driver.send_text = flaky
    pacer = Pacer.load(session)
    statuses = []
    for _ in range(3):
        session.next_send_at = None
        engine_send_next(session=session, driver=driver, pacer=pacer)
        statuses.append(Message.objects.get().status)
    assert statuses == [MessageStatus.PENDING, MessageStatus.PENDING, MessageStatus.FAILED]
    assert Message.objects.get().attempts == 3


def test_a_send_with_an_unknown_outcome_is_left_to_an_operator(connected_account, send_log):
    session, driver = connected_account()
    campaign = _running_campaign(session, debtors=2)
    sandbox_send = driver.send_text
    outcomes = iter([SendOutcomeUnknown("WhatsApp did not confirm it"), None])

    def send_text(**kwargs):
        if error := next(outcomes):
            raise error
        return sandbox_send(**kwargs)

    driver.send_text = send_text
    _drain(session, driver)

    unknown = Message.objects.get(campaign=campaign, status=MessageStatus.UNKNOWN)
    assert unknown.last_error == (
        "WhatsApp did not confirm it: check the phone, then mark sent or resend"
    )
    assert unknown.attempts == 1
    assert unknown.lease_until is None
    # Never tried again; the other debtor is sent to; nobody is marked unreachable.
    assert [phone for _, _, phone in send_log()] == [
        Message.objects.get(campaign=campaign, status=MessageStatus.SENT).debtor.phone_e164
    ]
    assert unknown.debtor.status != DebtorStatus.UNREACHABLE
    session.refresh_from_db()
    assert session.failed_count == 0
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING


def test_a_receipt_settles_a_message_in_doubt(connected_account):
    session, driver = connected_account()
    campaign = _running_campaign(session, debtors=1)

    def unconfirmed(**kwargs):
        raise SendOutcomeUnknown("WhatsApp did not confirm it", wa_message_id="wamid-1")

    driver.send_text = unconfirmed
    _drain(session, driver)
    assert Message.objects.get(campaign=campaign).status == MessageStatus.UNKNOWN

    moved = messages_apply_acks(
        session=session,
        acks=[Ack("wamid-1", AckStatus.DELIVERED), Ack("wamid-1", AckStatus.READ)],
    )

    message = Message.objects.get(campaign=campaign)
    assert message.status == MessageStatus.READ
    assert None not in (message.sent_at, message.delivered_at, message.read_at)
    assert message.last_error == ""
    assert moved == 2
    assert message.debtor.status == DebtorStatus.READ


@pytest.mark.parametrize(
    ("error", "outcome"),
    [
        (SendError("refused", permanent=True), MessageStatus.FAILED),
        (SendOutcomeUnknown("WhatsApp did not confirm it"), MessageStatus.UNKNOWN),
    ],
)
def test_a_campaign_pauses_itself_when_most_recent_sends_go_wrong(
    connected_account, settings, error, outcome
):
    settings.ENGINE_AUTO_PAUSE_WINDOW = 4
    session, driver = connected_account()
    campaign = _running_campaign(session, debtors=6)
    driver.send_text = lambda **kw: (_ for _ in ()).throw(error)
    _drain(session, driver)
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.PAUSED
    assert "Paused automatically" in campaign.status_detail
    assert Message.objects.filter(status=outcome).count() == 2
    assert Message.objects.filter(status=MessageStatus.PENDING).count() == 4


def test_delivered_and_read_sends_count_against_failures_in_the_order_they_were_sent(
    connected_account, settings
):
    settings.ENGINE_AUTO_PAUSE_WINDOW = 4
    session, driver = connected_account()
    campaign = _running_campaign(session, debtors=8)
    now = timezone.now()
    first, *middle, last = Message.objects.filter(campaign=campaign).order_by("id")
    Message.objects.filter(pk=first.pk).update(
        status=MessageStatus.FAILED, failed_at=now - datetime.timedelta(hours=1)
    )
    # Sent ten minutes ago, acknowledged just now: their acks are newer than the new failure.
    Message.objects.filter(pk__in=[m.pk for m in middle]).update(
        status=MessageStatus.DELIVERED,
        sent_at=now - datetime.timedelta(minutes=10),
        updated_at=now + datetime.timedelta(seconds=5),
    )
    Message.objects.filter(pk=middle[0].pk).update(status=MessageStatus.READ)
    driver.send_text = lambda **kw: (_ for _ in ()).throw(SendError("refused", permanent=True))

    _drain(session, driver)

    assert Message.objects.get(pk=last.pk).status == MessageStatus.FAILED
    campaign.refresh_from_db()
    # The latest four outcomes: one failure, three sends.
    assert campaign.status == CampaignStatus.RUNNING


def test_the_latest_outcomes_are_weighed_by_when_they_were_sent_not_acknowledged(
    connected_account, settings
):
    settings.ENGINE_AUTO_PAUSE_WINDOW = 4
    session, driver = connected_account()
    campaign = _running_campaign(session, debtors=8)
    now = timezone.now()
    *earlier, failed, _fails_now = Message.objects.filter(campaign=campaign).order_by("id")
    # Sent ten minutes ago; their read receipts came after everything else.
    Message.objects.filter(pk__in=[m.pk for m in earlier]).update(
        status=MessageStatus.READ,
        sent_at=now - datetime.timedelta(minutes=10),
        updated_at=now + datetime.timedelta(seconds=5),
    )
    Message.objects.filter(pk=failed.pk).update(
        status=MessageStatus.FAILED, failed_at=now - datetime.timedelta(minutes=1), updated_at=now
    )
    driver.send_text = lambda **kw: (_ for _ in ()).throw(SendError("refused", permanent=True))

    _drain(session, driver)

    campaign.refresh_from_db()
    # The latest four outcomes: two failures, then two sends.
    assert campaign.status == CampaignStatus.PAUSED


def test_pacing_waits_the_delay_between_sends(connected_account):
    session, driver = connected_account(min_delay_seconds=20, max_delay_seconds=60)
    _running_campaign(session, debtors=2)
    pacer = Pacer.load(session)
    first_wait = engine_send_next(session=session, driver=driver, pacer=pacer)
    assert 20 <= first_wait <= 60
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 1
    session.refresh_from_db()
    assert session.next_send_at > timezone.now() + datetime.timedelta(seconds=19)
    # The next step only reports how long to wait: nothing is claimed early.
    assert engine_send_next(session=session, driver=driver, pacer=pacer) > 15
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 1


def test_the_hourly_cap_stops_an_account_until_the_hour_rolls_over(connected_account):
    session, _ = connected_account(hourly_cap=2)
    now = timezone.now()
    pacer = Pacer(session=session)
    pacer.record(now - datetime.timedelta(minutes=50))
    pacer.record(now - datetime.timedelta(minutes=10))
    assert pacer.wait_seconds(now) == pytest.approx(600, abs=1)


def test_the_daily_cap_stops_an_account_until_local_midnight(connected_account):
    session, _ = connected_account(daily_cap=1, time_zone="America/Bogota")
    local = datetime.datetime(2026, 11, 24, 15, 0, tzinfo=datetime.UTC)  # 10:00 in Bogotá
    pacer = Pacer(session=session)
    pacer.record(local - datetime.timedelta(hours=1))
    assert pacer.wait_seconds(local) == pytest.approx(14 * 3600, abs=1)


def test_outside_active_hours_an_account_waits_for_the_window(connected_account):
    session, _ = connected_account(
        active_from=datetime.time(8, 0),
        active_until=datetime.time(19, 0),
        time_zone="America/Bogota",
    )
    late = datetime.datetime(2026, 11, 25, 1, 30, tzinfo=datetime.UTC)  # 20:30 in Bogotá
    assert Pacer(session=session).wait_seconds(late) == pytest.approx(11.5 * 3600, abs=1)
    inside = datetime.datetime(2026, 11, 24, 15, 0, tzinfo=datetime.UTC)
    assert Pacer(session=session).wait_seconds(inside) == 0


def test_acks_move_messages_to_delivered_then_read(connected_account):
    session, driver = connected_account()
    _running_campaign(session, debtors=1)
    _drain(session, driver)
    message = Message.objects.get()
    messages_apply_acks(session=session, acks=[Ack(message.wa_message_id, AckStatus.DELIVERED)])
    message.refresh_from_db()
    assert message.status == MessageStatus.DELIVERED
    assert message.delivered_at is not None
    messages_apply_acks(session=session, acks=[Ack(message.wa_message_id, AckStatus.READ)])
    message.refresh_from_db()
    assert message.status == MessageStatus.READ
    assert Debtor.objects.get().status == DebtorStatus.READ
    # A late "delivered" never moves a read message back.
    messages_apply_acks(session=session, acks=[Ack(message.wa_message_id, AckStatus.DELIVERED)])
    message.refresh_from_db()
    assert message.status == MessageStatus.READ


def test_delivered_and_read_in_one_batch_take_both_steps(connected_account):
    session, driver = connected_account()
    _running_campaign(session, debtors=1)
    _drain(session, driver)
    wa_id = Message.objects.get().wa_message_id
    moved = messages_apply_acks(
        session=session,
        acks=[Ack(wa_id, AckStatus.DELIVERED), Ack(wa_id, AckStatus.READ)],
    )
    message = Message.objects.get()
    assert moved == 2
    assert message.status == MessageStatus.READ
    assert message.delivered_at is not None
    assert message.read_at is not None
    assert Debtor.objects.get().status == DebtorStatus.READ


def test_receipts_never_outrank_a_reply(connected_account):
    session, driver = connected_account()
    _running_campaign(session, debtors=1)
    _drain(session, driver)
    message = Message.objects.get()
    messages_apply_incoming(
        session=session,
        incoming=[IncomingMessage(message.debtor.phone_e164, "Ya pagué", timezone.now())],
    )
    messages_apply_acks(session=session, acks=[Ack(message.wa_message_id, AckStatus.READ)])
    assert Message.objects.get().status == MessageStatus.READ
    assert Debtor.objects.get().status == DebtorStatus.REPLIED


def test_sandbox_acks_flow_through_the_engine(connected_account):
    session, driver = connected_account()
    _running_campaign(session, debtors=3)
    _drain(session, driver)
    messages_apply_acks(session=session, acks=driver.poll_acks())
    assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.READ}


def test_a_stop_reply_opts_the_debtor_out_and_skips_other_campaigns(connected_account):
    session, driver = connected_account()
    debtor = DebtorFactory(phone_e164="+573005550001")
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=session)
    first = campaign_start(campaign=CampaignFactory(pool=pool))
    _drain(session, driver)
    second = campaign_start(campaign=CampaignFactory(pool=pool, audience=AGAIN))
    now = timezone.now()
    messages_apply_incoming(
        session=session, incoming=[IncomingMessage("+573005550001", " stop ", now)]
    )
    debtor.refresh_from_db()
    assert debtor.opted_out
    assert Message.objects.get(campaign=first).replies.get().text == " stop "
    # Skipped through debtor_opt_out, whose test shows the campaign's page is told.
    assert Message.objects.get(campaign=second).last_error == OPTED_OUT_REASON


def test_an_ordinary_reply_marks_the_debtor_replied(connected_account):
    session, driver = connected_account()
    _running_campaign(session, debtors=1)
    _drain(session, driver)
    phone = Debtor.objects.get().phone_e164
    messages_apply_incoming(
        session=session, incoming=[IncomingMessage(phone, "Ya pagué", timezone.now())]
    )
    assert Debtor.objects.get().status == DebtorStatus.REPLIED
    assert Message.objects.get().replies.get().text == "Ya pagué"


def test_a_reply_answers_the_latest_message_this_account_sent(connected_account):
    session, driver = connected_account()
    other, other_driver = connected_account()
    debtor = DebtorFactory()
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=session)
    campaigns = []
    for _ in range(2):
        campaigns.append(campaign_start(campaign=CampaignFactory(pool=pool, audience=AGAIN)))
        _drain(session, driver)
    # A later send from another account is not what this account's chat answers.
    elsewhere = PoolFactory()
    PoolMemberFactory(pool=elsewhere, session=other)
    campaign_start(campaign=CampaignFactory(pool=elsewhere, audience=AGAIN))
    _drain(other, other_driver)
    messages_apply_incoming(
        session=session, incoming=[IncomingMessage(debtor.phone_e164, "Ya pagué", timezone.now())]
    )
    replies = ReceivedMessage.objects.values_list("in_reply_to__campaign_id", "text")
    assert list(replies) == [(campaigns[1].pk, "Ya pagué")]


def test_fixed_turns_pre_assign_in_pool_order(connected_account):
    accounts = [connected_account()[0] for _ in range(3)]
    campaign = _running_campaign(*accounts, strategy=PoolStrategy.FIXED_TURNS, debtors=10)
    assigned = list(
        Message.objects.filter(campaign=campaign)
        .order_by("id")
        .values_list("assigned_session", flat=True)
    )
    expected = [accounts[i % 3].pk for i in range(10)]
    assert assigned == expected


def test_an_account_that_drops_out_hands_its_messages_to_the_others(connected_account):
    first, second, third = (connected_account()[0] for _ in range(3))
    campaign = _running_campaign(first, second, third, strategy=PoolStrategy.FIXED_TURNS, debtors=9)
    type(first).objects.filter(pk=first.pk).update(status=SessionStatus.LOGGED_OUT)
    moved = messages_hand_over(session=first, nobody_left=NobodyLeft.KEEP)
    counts = Counter(
        Message.objects.filter(campaign=campaign).values_list("assigned_session", flat=True)
    )
    assert moved == 3
    assert counts == {second.pk: 5, third.pk: 4} or counts == {second.pk: 4, third.pk: 5}


def test_an_account_leaving_one_pool_hands_over_only_that_pools_messages(connected_account):
    leaving, staying, other = (connected_account()[0] for _ in range(3))
    left = _running_campaign(leaving, staying, strategy=PoolStrategy.FIXED_TURNS, debtors=4)
    kept = _running_campaign(leaving, other, strategy=PoolStrategy.FIXED_TURNS, debtors=0)
    moved = messages_hand_over(session=leaving, pool=left.pool, nobody_left=NobodyLeft.RELEASE)
    owners = dict(
        Message.objects.filter(assigned_session=leaving)
        .values_list("campaign")
        .annotate(n=Count("id"))
    )
    assert moved == 2
    assert owners == {kept.pk: 2}  # its half of the other pool's campaign


def test_messages_wait_when_no_other_account_can_take_them(connected_account):
    only, _ = connected_account()
    campaign = _running_campaign(only, strategy=PoolStrategy.RANDOM_TURNS, debtors=3)
    assert messages_hand_over(session=only, nobody_left=NobodyLeft.KEEP) == 0
    assert set(
        Message.objects.filter(campaign=campaign).values_list("assigned_session", flat=True)
    ) == {only.pk}


def test_random_assignment_follows_the_weights():
    members = [
        PoolMemberFactory.build(session_id=1, weight=1),
        PoolMemberFactory.build(session_id=2, weight=3),
    ]
    chunks = assign_members(PoolStrategy.RANDOM_TURNS, members, list(range(8000)))
    share = len(chunks[2]) / 8000
    # Binomial(8000, 0.75): the standard deviation of the share is ~0.005; 5 sigma.
    assert abs(share - 0.75) < 0.025


@pytest.mark.django_db(transaction=True)
def test_concurrent_hosts_send_every_message_exactly_once(connected_account, send_log):
    accounts = [connected_account() for _ in range(6)]
    campaign = _running_campaign(*(a for a, _ in accounts), debtors=1500)
    errors = []

    def host(session, driver):
        try:
            _drain(session, driver)
        except Exception as exc:  # noqa: BLE001 - surfaced by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=host, args=account) for account in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    phones = [phone for _, _, phone in send_log()]
    assert len(phones) == 1500
    assert len(set(phones)) == 1500
    assert Message.objects.filter(campaign=campaign, status=MessageStatus.SENT).count() == 1500
    senders = Counter(profile for _, profile, _ in send_log())
    assert len(senders) == 6  # every host took part


def test_a_send_settled_after_the_debtor_paid_leaves_it_paid(connected_account, send_log):
    session, driver = connected_account()
    _running_campaign(session, debtors=1)
    debtor = Debtor.objects.get()
    send_text = driver.send_text

    def paid_while_sending(**kwargs):
        # Recorded while the message is `sending`: too late to skip, but not to keep.
        debtor_disposition_record(debtor=debtor, kind=DispositionKind.PAID, by=None)
        return send_text(**kwargs)

    driver.send_text = paid_while_sending
    _drain(session, driver)
    assert Message.objects.get().status == MessageStatus.SENT
    assert Debtor.objects.get().status == DebtorStatus.PAID
    messages_apply_acks(session=session, acks=driver.poll_acks())
    messages_apply_incoming(
        session=session,
        incoming=[IncomingMessage(debtor.phone_e164, "Ya pagué", timezone.now())],
    )
    assert Message.objects.get().status == MessageStatus.READ
    assert Debtor.objects.get().status == DebtorStatus.PAID


def test_a_number_found_missing_leaves_a_closed_debtor_closed(connected_account):
    session, driver = connected_account()
    DebtorFactory(phone_e164="+573005550000", status=DebtorStatus.WRONG_NUMBER)
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=session)
    campaign_start(campaign=CampaignFactory(pool=pool, audience={"include_closed": True}))
    _drain(session, driver)
    assert Message.objects.get().status == MessageStatus.FAILED
    debtor = Debtor.objects.get()
    assert (debtor.status, debtor.on_whatsapp) == (DebtorStatus.WRONG_NUMBER, "no")


def test_a_phone_on_the_registry_gets_no_message_under_a_new_debtor_name(
    connected_account, send_log
):
    session, driver = connected_account()
    DoNotContact.objects.create(
        phone_e164="+573007770001", source=OptOutSource.REPLY, added_at=timezone.now()
    )
    # Came back in a new import under another name: the debtor row itself is not opted out.
    DebtorFactory(name="Otro Nombre", phone_e164="+573007770001", opted_out=False)
    campaign = _running_campaign(session, debtors=2)
    _drain(session, driver)
    skipped = Message.objects.get(campaign=campaign, debtor__phone_e164="+573007770001")
    assert skipped.status == MessageStatus.SKIPPED
    assert skipped.last_error == DO_NOT_CONTACT_REASON
    assert "+573007770001" not in [phone for _, _, phone in send_log()]
    assert len(send_log()) == 2


def test_every_send_attempt_is_audited_with_its_exact_text(connected_account):
    session, driver = connected_account()
    campaign = _running_campaign(session, debtors=2)
    _drain(session, driver)
    records = AuditRecord.objects.filter(kind=AuditKind.SEND).order_by("message_id")
    messages = Message.objects.filter(campaign=campaign).select_related("debtor").order_by("pk")
    assert [
        (r.message_id, r.text, r.phone_e164, r.session_id, r.campaign_id, r.wa_message_id, r.action)
        for r in records
    ] == [
        (m.pk, m.body, m.debtor.phone_e164, session.pk, campaign.pk, m.wa_message_id, "sent")
        for m in messages
    ]
    started = AuditRecord.objects.get(kind=AuditKind.CAMPAIGN)
    assert (started.action, started.detail["from"]) == (CampaignStatus.RUNNING, "draft")


def test_a_send_writes_its_message_sent_event_with_the_settle(connected_account, monkeypatch):
    kicks = []
    monkeypatch.setattr("campaigns.engine.sending.kick", lambda: kicks.append(1))
    endpoint = endpoint_create(
        url="http://127.0.0.1:9/hooks", event_types=[EventType.MESSAGE_SENT], by=None
    )
    subscriptions.forget()  # endpoint_create's own forget waits for a commit
    session, driver = connected_account()
    campaign = _running_campaign(session, debtors=2)
    _drain(session, driver)
    messages = Message.objects.filter(campaign=campaign).select_related("debtor").order_by("pk")
    events = WebhookEvent.objects.order_by("id")
    assert [
        (e.endpoint_id, e.type, e.message_id, e.message_status, e.wa_message_id, e.account_id)
        for e in events
    ] == [
        (endpoint.pk, "message.sent", m.pk, "sent", m.wa_message_id, session.pk) for m in messages
    ]
    assert len(kicks) == 2


def test_a_failed_send_is_audited_with_its_error(connected_account):
    session, driver = connected_account()
    DebtorFactory(phone_e164="+573001234000")  # the sandbox: not on WhatsApp
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=session)
    campaign_start(campaign=CampaignFactory(pool=pool))
    _drain(session, driver)
    record = AuditRecord.objects.get(kind=AuditKind.SEND)
    assert record.action == MessageStatus.FAILED
    assert record.phone_e164 == "+573001234000"
    assert record.detail["error"]


def test_a_spanish_stop_reply_opts_out_and_puts_the_phone_on_the_registry(
    connected_account, stop_words
):
    session, driver = connected_account()
    DebtorFactory(phone_e164="+573005550002")
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=session)
    campaign_start(campaign=CampaignFactory(pool=pool))
    _drain(session, driver)
    messages_apply_incoming(
        session=session,
        incoming=[IncomingMessage("+573005550002", "Ya pagué, no me escriban más", timezone.now())],
    )
    entry = DoNotContact.objects.get()
    assert (entry.phone_e164, entry.source) == ("+573005550002", OptOutSource.REPLY)
    assert "no me escriban" in entry.reason
    assert Debtor.objects.get().opted_out


def test_a_send_opens_the_accounts_chat_with_the_number_once(connected_account):
    session, driver = connected_account()
    _running_campaign(session, debtors=2, audience=AGAIN)
    _running_campaign(session, debtors=0, audience=AGAIN)  # the same two debtors again
    _drain(session, driver)
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 4
    chats = AccountChat.objects.filter(session=session)
    assert sorted(chats.values_list("phone_e164", flat=True)) == sorted(
        Debtor.objects.values_list("phone_e164", flat=True)
    )
    assert all(chat.outgoing for chat in chats)


def test_a_debtor_who_writes_first_opens_a_chat_that_spends_no_budget(connected_account):
    session, _ = connected_account()
    debtor = DebtorFactory()
    messages_apply_incoming(
        session=session, incoming=[IncomingMessage(debtor.phone_e164, "Hola", timezone.now())]
    )
    chat = AccountChat.objects.get(session=session)
    assert (chat.phone_e164, chat.outgoing) == (debtor.phone_e164, False)
    assert Pacer.load(session).new_chats == 0


def test_past_its_new_chat_budget_an_account_with_nothing_known_looks_less_often(
    connected_account,
):
    session, driver = connected_account(new_chats_per_day=1)
    _running_campaign(session, debtors=3)
    pacer = Pacer.load(session)
    assert engine_send_next(session=session, driver=driver, pacer=pacer) == 0
    assert engine_send_next(session=session, driver=driver, pacer=pacer) == (
        sending.KNOWN_ONLY_IDLE_SECONDS
    )
    assert Message.objects.filter(status=MessageStatus.SENT).count() == 1
    assert Message.objects.filter(status=MessageStatus.PENDING).count() == 2
