"""Messages in doubt settled by the WhatsApp id committed before their send."""

import pytest

from campaigns.engine import Pacer, engine_send_next
from campaigns.engine.doubt import messages_settle_unknown
from campaigns.models import Message, MessageStatus
from campaigns.services import campaign_start
from campaigns.sweep import messages_mark_orphans_unknown
from debtors.models import Debtor, DebtorStatus
from sessions_app.drivers.sandbox import SandboxDriver
from tests.factories import CampaignFactory, DebtorFactory, PoolFactory, PoolMemberFactory

pytestmark = pytest.mark.django_db


class Crash(BaseException):
    """The process dying right after WhatsApp took the message."""


def _campaign_for(session, debtors):
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=session)
    for phone in debtors:
        DebtorFactory(phone_e164=phone)
    return campaign_start(campaign=CampaignFactory(pool=pool))


def test_the_prepared_id_is_committed_with_sending_before_the_send(connected_account):
    session, driver = connected_account()
    _campaign_for(session, ["+573004440001"])
    seen = []
    original = driver.send_text

    def send_text(**kwargs):
        seen.append(Message.objects.values_list("status", "wa_message_id").get())
        return original(**kwargs)

    driver.send_text = send_text
    engine_send_next(session=session, driver=driver, pacer=Pacer.load(session))

    message = Message.objects.get()
    assert seen == [(MessageStatus.SENDING, message.wa_message_id)]
    assert message.status == MessageStatus.SENT
    assert message.wa_message_id.startswith("true_573004440001@c.us_")


def test_after_a_crash_the_next_host_settles_what_whatsapp_has_by_its_id(
    connected_account, send_log
):
    session, driver = connected_account()
    _campaign_for(session, ["+573004440011", "+573004440012"])
    original = driver.send_text
    reached = []

    def crash_after(**kwargs):
        if reached:
            raise Crash  # dies before this one reaches WhatsApp
        reached.append(original(**kwargs))
        raise Crash  # dies after WhatsApp took it, before the settle

    driver.send_text = crash_after
    for _ in range(2):
        with pytest.raises(Crash):
            engine_send_next(session=session, driver=driver, pacer=Pacer.load(session))
    # What the starting host does first: its predecessor's `sending` is now in doubt.
    assert messages_mark_orphans_unknown(session_id=session.pk) == 2
    restarted = SandboxDriver(profile_dir=session.profile_dir_path)
    restarted.start()

    assert messages_settle_unknown(session=session, driver=restarted) == 1

    sent = Message.objects.get(wa_message_id=reached[0].wa_message_id)
    in_doubt = Message.objects.exclude(pk=sent.pk).get()
    assert sent.status == MessageStatus.SENT
    assert sent.sent_at is not None
    assert Debtor.objects.get(pk=sent.debtor_id).status == DebtorStatus.SENT
    assert in_doubt.status == MessageStatus.UNKNOWN
    assert "never received it" in in_doubt.last_error
    assert [wa_id for wa_id, _, _ in send_log()] == [sent.wa_message_id]
    session.refresh_from_db()
    assert session.sent_count == 1
