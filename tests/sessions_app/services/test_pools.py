import pytest
from django.core.exceptions import ValidationError

from campaigns.models import CampaignStatus, Message, MessageStatus
from sessions_app.models import Pool, PoolStrategy, SessionStatus, WhatsAppSession
from sessions_app.services import (
    pool_create,
    pool_delete,
    pool_member_add,
    pool_member_move,
    pool_member_remove,
    pool_member_update,
    pool_update,
)
from tests.factories import (
    CampaignFactory,
    MessageFactory,
    PoolFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
)

pytestmark = pytest.mark.django_db


def test_a_pool_name_must_be_unique():
    PoolFactory(name="Cobranza")
    with pytest.raises(ValidationError) as refused:
        pool_create(name="cobranza", strategy=PoolStrategy.COMPETITIVE)
    assert "already exists" in refused.value.message_dict["name"][0]


def test_a_pool_keeps_its_own_name_when_edited():
    pool = PoolFactory(name="Cobranza")
    pool_update(pool=pool, name="Cobranza", strategy=PoolStrategy.FIXED_TURNS, description="Mora")
    pool.refresh_from_db()
    assert (pool.strategy, pool.description) == (PoolStrategy.FIXED_TURNS, "Mora")


def test_a_pool_cannot_take_another_pools_name():
    PoolFactory(name="Cobranza")
    pool = PoolFactory(name="Other")
    with pytest.raises(ValidationError):
        pool_update(pool=pool, name="Cobranza", strategy=PoolStrategy.COMPETITIVE, description="")
    pool.refresh_from_db()
    assert pool.name == "Other"


def test_an_unknown_strategy_is_refused():
    with pytest.raises(ValidationError) as refused:
        pool_create(name="Pool", strategy="fastest")
    assert "strategy" in refused.value.message_dict


def test_a_pool_used_by_campaigns_cannot_be_deleted():
    campaign = CampaignFactory()
    with pytest.raises(ValidationError, match="1 campaign"):
        pool_delete(pool=campaign.pool)
    assert Pool.objects.filter(pk=campaign.pool.pk).exists()


def test_an_unused_pool_is_deleted_and_its_accounts_stay():
    member = PoolMemberFactory()
    pool_delete(pool=member.pool)
    assert not Pool.objects.exists()
    assert WhatsAppSession.objects.filter(pk=member.session_id).exists()


def _positions(pool):
    return list(pool.members.order_by("position").values_list("session__name", "position"))


def test_members_join_at_the_end_of_the_pool():
    pool = PoolFactory()
    first, second = WhatsAppSessionFactory(name="A"), WhatsAppSessionFactory(name="B")
    pool_member_add(pool=pool, session=first)
    pool_member_add(pool=pool, session=second)
    assert _positions(pool) == [("A", 0), ("B", 1)]


def test_an_account_joins_a_pool_once():
    member = PoolMemberFactory()
    with pytest.raises(ValidationError) as refused:
        pool_member_add(pool=member.pool, session=member.session)
    assert "already in this pool" in refused.value.message_dict["session"][0]
    assert member.pool.members.count() == 1


def _pool_of(*names):
    pool = PoolFactory()
    for position, name in enumerate(names):
        PoolMemberFactory(pool=pool, session=WhatsAppSessionFactory(name=name), position=position)
    return pool


@pytest.mark.parametrize(
    ("name", "position", "order"),
    [
        ("C", 0, ["C", "A", "B"]),
        ("A", 1, ["B", "A", "C"]),
        ("A", 99, ["B", "C", "A"]),
        ("B", 1, ["A", "B", "C"]),
    ],
)
def test_moving_a_member_keeps_positions_dense(name, position, order):
    pool = _pool_of("A", "B", "C")
    pool_member_move(member=pool.members.get(session__name=name), position=position)
    assert _positions(pool) == [(each, index) for index, each in enumerate(order)]


def test_removing_a_member_closes_the_gap():
    pool = _pool_of("A", "B", "C")
    pool_member_remove(member=pool.members.get(session__name="A"))
    assert _positions(pool) == [("B", 0), ("C", 1)]


def test_a_weight_below_one_is_refused():
    member = PoolMemberFactory(weight=3)
    with pytest.raises(ValidationError) as refused:
        pool_member_update(member=member, enabled=True, weight=0)
    assert "weight" in refused.value.message_dict
    member.refresh_from_db()
    assert member.weight == 3


def test_disabling_a_member_hands_its_pending_messages_to_the_rest_of_that_pool():
    pool = PoolFactory(strategy=PoolStrategy.FIXED_TURNS)
    leaving, staying = (
        PoolMemberFactory(pool=pool, session=WhatsAppSessionFactory(status=SessionStatus.CONNECTED))
        for _ in range(2)
    )
    campaign = CampaignFactory(pool=pool, status=CampaignStatus.RUNNING)
    pending = MessageFactory.create_batch(3, campaign=campaign, assigned_session=leaving.session)
    sent = MessageFactory(
        campaign=campaign, assigned_session=leaving.session, status=MessageStatus.SENT
    )
    # The same account in another pool keeps the messages it has there.
    elsewhere = MessageFactory(
        campaign=CampaignFactory(status=CampaignStatus.RUNNING), assigned_session=leaving.session
    )
    pool_member_update(member=leaving, enabled=False, weight=1)
    assert {
        m.assigned_session_id for m in Message.objects.filter(pk__in=[m.pk for m in pending])
    } == {staying.session_id}
    assert Message.objects.get(pk=sent.pk).assigned_session_id == leaving.session_id
    assert Message.objects.get(pk=elsewhere.pk).assigned_session_id == leaving.session_id


def test_messages_of_the_last_member_removed_are_left_open_to_the_pool():
    member = PoolMemberFactory(session=WhatsAppSessionFactory(status=SessionStatus.CONNECTED))
    campaign = CampaignFactory(pool=member.pool, status=CampaignStatus.PAUSED)
    message = MessageFactory(campaign=campaign, assigned_session=member.session)
    pool_member_remove(member=member)
    assert Message.objects.get(pk=message.pk).assigned_session_id is None
