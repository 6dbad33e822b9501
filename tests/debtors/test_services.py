import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from campaigns.models import CampaignStatus, Message, MessageStatus
from campaigns.services import campaign_start
from debtors.models import Debtor, DebtorStatus, Disposition, DispositionKind, OptOutSource
from debtors.services import (
    debtor_disposition_record,
    debtor_opt_out,
    debtor_update,
    dispositions_mark_broken,
)
from sessions_app.models import WhatsAppSession
from sessions_app.services import session_connect, session_simulate_scan
from tests.conftest import listen_group, receive_event, wait_until
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    MessageFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
    replied_message,
)
from whatsmassive import clock, realtime

pytestmark = pytest.mark.django_db


def test_opt_out_marks_debtors_once():
    first, second = DebtorFactory(), DebtorFactory()
    at = timezone.now() - datetime.timedelta(minutes=5)
    opted_out = Debtor.objects.filter(pk=first.pk)
    assert debtor_opt_out(debtors=opted_out, at=at, source=OptOutSource.OPERATOR) == 1
    later = timezone.now()
    assert debtor_opt_out(debtors=Debtor.objects.all(), at=later, source=OptOutSource.REPLY) == 1
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.opted_out
    assert second.opted_out
    assert (first.opted_out_at, second.opted_out_at) == (at, later)


@pytest.mark.django_db(transaction=True)
def test_an_operators_opt_out_skips_unsent_messages_at_once_and_pushes_progress():
    debtor, other = DebtorFactory(), DebtorFactory()
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    waiting = MessageFactory(campaign=campaign, debtor=debtor, status=MessageStatus.PENDING)
    untouched = MessageFactory(campaign=campaign, debtor=other, status=MessageStatus.PENDING)
    sent_before = MessageFactory(debtor=debtor, status=MessageStatus.SENT)
    layer, channel = listen_group(realtime.campaign_group(campaign.pk))
    quiet_layer, quiet = listen_group(realtime.campaign_group(sent_before.campaign_id))

    debtor_opt_out(
        debtors=Debtor.objects.filter(pk=debtor.pk),
        at=timezone.now(),
        source=OptOutSource.OPERATOR,
    )

    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses == {
        waiting.pk: MessageStatus.SKIPPED,
        untouched.pk: MessageStatus.PENDING,
        sent_before.pk: MessageStatus.SENT,
    }
    assert Message.objects.get(pk=waiting.pk).last_error == "The debtor opted out"
    html = receive_event(layer, channel)["html"]
    assert f'id="campaign-{campaign.pk}-progress"' in html
    assert "50%" in html  # one of two messages is done: the skipped one
    with pytest.raises(TimeoutError):  # nothing was skipped in the other campaign
        receive_event(quiet_layer, quiet, timeout=1)


def _at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


TODAY = datetime.date(2026, 12, 2)


def test_an_operator_records_a_promise_that_becomes_the_current_disposition(operator):
    debtor = DebtorFactory()
    with clock.moved_to(_at(TODAY)):
        promise = debtor_disposition_record(
            debtor=debtor,
            kind=DispositionKind.PROMISE,
            amount=Decimal("50000"),
            date=TODAY + datetime.timedelta(days=3),
            note="  Paga el viernes  ",
            by=operator,
        )
    debtor.refresh_from_db()
    assert debtor.current_disposition == promise
    assert (promise.by, promise.note, promise.at.date()) == (operator, "Paga el viernes", TODAY)
    assert debtor.status == DebtorStatus.NEW  # a promise closes nothing


def test_a_viewer_cannot_record_a_disposition(viewer):
    debtor = DebtorFactory()
    with pytest.raises(PermissionDenied):
        debtor_disposition_record(debtor=debtor, kind=DispositionKind.NO_ANSWER, by=viewer)
    assert not Disposition.objects.exists()


@pytest.mark.parametrize(
    ("kind", "amount", "days", "fields"),
    [
        (DispositionKind.PROMISE, None, 3, {"amount"}),
        (DispositionKind.PROMISE, Decimal("0"), None, {"amount", "date"}),
        (DispositionKind.PROMISE, Decimal("10"), -1, {"date"}),
        (DispositionKind.CALL_BACK, None, None, {"date"}),
        (DispositionKind.CALL_BACK, None, -2, {"date"}),
        ("thanked", None, None, {"kind"}),
    ],
)
def test_a_disposition_missing_its_amount_or_date_is_refused(operator, kind, amount, days, fields):
    debtor = DebtorFactory()
    date = None if days is None else TODAY + datetime.timedelta(days=days)
    with clock.moved_to(_at(TODAY)), pytest.raises(ValidationError) as refused:
        debtor_disposition_record(debtor=debtor, kind=kind, amount=amount, date=date, by=operator)
    assert set(refused.value.message_dict) == fields
    assert not Disposition.objects.exists()


def test_a_call_back_keeps_its_day_and_no_amount(operator):
    with clock.moved_to(_at(TODAY)):
        call_back = debtor_disposition_record(
            debtor=DebtorFactory(),
            kind=DispositionKind.CALL_BACK,
            amount=Decimal("10"),
            date=TODAY,
            by=operator,
        )
    assert (call_back.amount, call_back.date) == (None, TODAY)


@pytest.mark.parametrize(
    ("kind", "status", "reason"),
    [
        (DispositionKind.PAID, DebtorStatus.PAID, "The debtor paid"),
        (DispositionKind.DISPUTE, DebtorStatus.DISPUTED, "The debtor disputes the debt"),
        (DispositionKind.WRONG_NUMBER, DebtorStatus.WRONG_NUMBER, "Wrong number"),
    ],
)
def test_a_closing_disposition_skips_the_debtors_unsent_messages_at_once(
    operator, kind, status, reason
):
    debtor = DebtorFactory()
    running = CampaignFactory(status=CampaignStatus.RUNNING)
    pending = MessageFactory(campaign=running, debtor=debtor)
    claimed = MessageFactory(
        debtor=debtor, status=MessageStatus.CLAIMED, lease_until=timezone.now()
    )
    sent = MessageFactory(debtor=debtor, status=MessageStatus.SENT)
    others = MessageFactory(campaign=running)

    debtor_disposition_record(debtor=debtor, kind=kind, by=operator)

    statuses = dict(Message.objects.values_list("pk", "status"))
    assert statuses == {
        pending.pk: MessageStatus.SKIPPED,
        claimed.pk: MessageStatus.SKIPPED,
        sent.pk: MessageStatus.SENT,
        others.pk: MessageStatus.PENDING,
    }
    assert Message.objects.get(pk=pending.pk).last_error == reason
    assert Debtor.objects.get(pk=debtor.pk).status == status


def test_a_later_disposition_reopens_a_closed_debtor_at_its_outreach_status(operator):
    debtor = DebtorFactory()
    MessageFactory(debtor=debtor, status=MessageStatus.READ, sent_at=timezone.now())
    debtor_disposition_record(debtor=debtor, kind=DispositionKind.WRONG_NUMBER, by=operator)
    debtor_disposition_record(debtor=debtor, kind=DispositionKind.NO_ANSWER, by=operator)
    assert Debtor.objects.get(pk=debtor.pk).status == DebtorStatus.READ


def test_a_debtor_who_replied_reopens_as_replied(operator):
    debtor = DebtorFactory(status=DebtorStatus.PAID)
    replied_message(
        debtor=debtor, status=MessageStatus.READ, sent_at=timezone.now(), replied_at=timezone.now()
    )
    debtor_disposition_record(
        debtor=debtor, kind=DispositionKind.CALL_BACK, date=clock.today(), by=operator
    )
    assert Debtor.objects.get(pk=debtor.pk).status == DebtorStatus.REPLIED


def test_a_status_change_to_paid_skips_unsent_messages_and_records_the_payment(operator):
    debtor = DebtorFactory()
    pending = MessageFactory(debtor=debtor, campaign=CampaignFactory(status=CampaignStatus.RUNNING))

    debtor_update(debtor=debtor, changes={"status": DebtorStatus.PAID}, by=operator)

    assert Message.objects.get(pk=pending.pk).status == MessageStatus.SKIPPED
    debtor.refresh_from_db()
    assert debtor.current_disposition is not None
    assert (debtor.current_disposition.kind, debtor.current_disposition.by) == (
        DispositionKind.PAID,
        operator,
    )
    # Already paid: nothing more is recorded.
    debtor_update(debtor=debtor, changes={"status": DebtorStatus.PAID}, by=operator)
    assert debtor.dispositions.count() == 1


def _promise(debtor, due: datetime.date, *, on: datetime.date) -> Disposition:
    with clock.moved_to(_at(on)):
        return debtor_disposition_record(
            debtor=debtor, kind=DispositionKind.PROMISE, amount=Decimal("1000"), date=due, by=None
        )


def test_a_promise_breaks_the_day_after_its_date_unless_paid_or_renewed():
    due = TODAY + datetime.timedelta(days=2)
    unkept = _promise(DebtorFactory(), due, on=TODAY)
    kept = _promise(DebtorFactory(), due, on=TODAY)
    with clock.moved_to(_at(due, 18)):
        debtor_disposition_record(debtor=kept.debtor, kind=DispositionKind.PAID, by=None)
    renewed = _promise(DebtorFactory(), due, on=TODAY)
    _promise(renewed.debtor, due + datetime.timedelta(days=7), on=due)

    with clock.moved_to(_at(due, 23)):
        assert dispositions_mark_broken() == 0
    the_day_after = due + datetime.timedelta(days=1)
    with clock.moved_to(_at(the_day_after, 0)):
        assert dispositions_mark_broken() == 1
        assert dispositions_mark_broken() == 0  # once only

    broken = dict(Disposition.objects.values_list("pk", "broken_on"))
    assert broken[unkept.pk] == the_day_after
    assert broken[kept.pk] is None
    assert broken[renewed.pk] is None


@pytest.mark.django_db(transaction=True)
def test_a_paid_debtors_pending_message_in_a_running_campaign_is_never_sent(
    celery_worker, send_log
):
    """Through a real worker: a payment recorded while the campaign runs skips the debtor's
    pending message, and a debtor closed while its message was already on its way stays
    closed whatever the send and its receipts say."""
    account = WhatsAppSessionFactory()
    pool = PoolMemberFactory(session=account).pool
    paying, closed_in_flight, *others = DebtorFactory.create_batch(5)
    campaign = campaign_start(campaign=CampaignFactory(pool=pool))
    debtor_disposition_record(debtor=paying, kind=DispositionKind.PAID, by=None)
    # As if paid after its message had been handed to WhatsApp: no skip can reach it.
    Debtor.objects.filter(pk=closed_in_flight.pk).update(status=DebtorStatus.PAID)

    session_connect(session=account)
    wait_until(lambda: WhatsAppSession.objects.get(pk=account.pk).qr_payload, message="no QR")
    session_simulate_scan(session=WhatsAppSession.objects.get(pk=account.pk))
    messages = Message.objects.filter(campaign=campaign)
    try:
        wait_until(
            lambda: messages.filter(status=MessageStatus.READ).count() == 4,
            timeout=90,
            message="the other debtors' messages were not all read",
        )
    finally:
        WhatsAppSession.objects.update(should_run=False)
        wait_until(
            lambda: not WhatsAppSession.objects.exclude(host_token="").exists(),
            message="the session host did not stop",
        )
    skipped = messages.get(debtor=paying)
    assert (skipped.status, skipped.last_error) == (MessageStatus.SKIPPED, "The debtor paid")
    assert sorted(phone for _, _, phone in send_log()) == sorted(
        debtor.phone_e164 for debtor in [closed_in_flight, *others]
    )
    statuses = dict(Debtor.objects.values_list("pk", "status"))
    assert statuses[paying.pk] == statuses[closed_in_flight.pk] == DebtorStatus.PAID
    # The sandbox answers a few messages: those debtors replied.
    assert {statuses[debtor.pk] for debtor in others} <= {DebtorStatus.READ, DebtorStatus.REPLIED}
