"""A contact policy through a real Celery worker: a zone outside its window waits while the
others are sent, and the campaign page's selector says until when."""

import datetime
import zoneinfo

import pytest

from campaigns.models import ContactPolicy, Message, MessageStatus
from campaigns.policy_selectors import campaign_waiting
from campaigns.services import campaign_start
from tests.conftest import wait_until
from tests.factories import CampaignFactory, DebtorFactory, PoolFactory, PoolMemberFactory
from tests.sessions_app.test_host import _linked, hosts_stop_after_test

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["hosts_stop_after_test"]

MANILA = zoneinfo.ZoneInfo("Asia/Manila")


def _closed_around_manilas_hour() -> list[list[list[str]]]:
    """Windows closed for the hours around Manila's present hour, open the rest of the day:
    Bogotá, 13 hours behind, is open meanwhile."""
    hour = datetime.datetime.now(MANILA).hour
    start, end = max(0, hour - 1), min(24, hour + 2)
    ranges = []
    if start > 0:
        ranges.append(["00:00", f"{start:02d}:00"])
    if end < 24:
        ranges.append([f"{end:02d}:00", "24:00"])
    return [ranges] * 7


@pytest.mark.usefixtures("hosts_stop_after_test")
def test_a_debtor_in_a_closed_window_waits_while_the_others_are_sent(send_log):
    policy = ContactPolicy.objects.create(
        name="Closed in Manila", windows=_closed_around_manilas_hour()
    )
    # First in line: were its window ignored, it would be among the first three sent.
    manila = DebtorFactory(time_zone="Asia/Manila")
    bogota = DebtorFactory.create_batch(3, time_zone="America/Bogota")
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, session=_linked())
    campaign = campaign_start(campaign=CampaignFactory(pool=pool, policy=policy))

    sent = {MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.READ}
    wait_until(
        lambda: Message.objects.filter(campaign=campaign, status__in=sent).count() == 3,
        timeout=60,
        message="the debtors in an open window were not sent",
    )
    sent_to = {phone for _wa_id, _profile, phone in send_log()}
    assert sent_to == {debtor.phone_e164 for debtor in bogota}
    waiting = Message.objects.get(campaign=campaign, debtor=manila)
    assert waiting.status == MessageStatus.PENDING
    assert waiting.attempts == 0
    assert waiting.session_id is None
    [group] = campaign_waiting(campaign=campaign)
    assert group.zones == "Asia/Manila"
    assert group.waiting == 1
    assert group.sentence.startswith("1 debtor in Philippines: next window ")
