import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from campaigns.models import CampaignStatus, Message, MessageStatus
from sessions_app.drivers import profile_dir_for
from sessions_app.drivers.sandbox import SCAN_MARKER
from sessions_app.models import Pool, PoolStrategy, SessionStatus, WhatsAppSession
from sessions_app.services import (
    pool_create,
    pool_delete,
    pool_member_add,
    pool_member_move,
    pool_member_remove,
    pool_member_update,
    pool_update,
    session_create,
    session_disconnect,
    session_host_acquire,
    session_logout,
    session_simulate_scan,
    session_update_pacing,
    sessions_supervise,
)
from tests.factories import (
    CampaignFactory,
    MessageFactory,
    PoolFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
)

pytestmark = pytest.mark.django_db


def test_logging_out_an_account_no_host_holds_deletes_its_profile():
    account = WhatsAppSessionFactory()
    profile = profile_dir_for(session_id=account.pk)
    (profile / "Cookies").write_text("secret")
    WhatsAppSession.objects.filter(pk=account.pk).update(profile_dir=str(profile))
    session_logout(session=WhatsAppSession.objects.get(pk=account.pk))
    account.refresh_from_db()
    assert not profile.exists()
    assert account.status == SessionStatus.LOGGED_OUT
    assert not account.should_run


def test_profiles_are_private_to_our_user():
    account = WhatsAppSessionFactory()
    assert profile_dir_for(session_id=account.pk).stat().st_mode & 0o777 == 0o700


def test_a_second_host_cannot_take_an_account_a_live_host_holds():
    account = WhatsAppSessionFactory(should_run=True)
    assert session_host_acquire(session_id=account.pk) is not None
    assert session_host_acquire(session_id=account.pk) is None


def test_a_host_is_not_started_for_an_account_nobody_wants_connected():
    account = WhatsAppSessionFactory(should_run=False)
    assert session_host_acquire(session_id=account.pk) is None


def test_the_supervisor_restarts_only_hosts_gone_silent(settings):
    settings.HOST_STALE_SECONDS = 60
    long_ago = timezone.now() - datetime.timedelta(minutes=5)
    silent = WhatsAppSessionFactory(should_run=True, host_token="x", heartbeat_at=long_ago)
    WhatsAppSessionFactory(should_run=True, host_token="y", heartbeat_at=timezone.now())
    WhatsAppSessionFactory(should_run=False, host_token="", heartbeat_at=long_ago)
    assert sessions_supervise() == [silent.pk]


def test_disconnecting_an_account_no_host_holds_settles_at_once():
    account = WhatsAppSessionFactory(
        should_run=True, status=SessionStatus.WAITING_QR, qr_payload="2@x", host=""
    )
    session_disconnect(session=account)
    account.refresh_from_db()
    assert (account.should_run, account.status) == (False, SessionStatus.DISCONNECTED)
    assert (account.status_detail, account.qr_payload) == ("", "")


def test_disconnecting_waits_for_the_host_that_holds_the_account():
    account = WhatsAppSessionFactory(
        should_run=True,
        status=SessionStatus.CONNECTED,
        host="browser-1",
        heartbeat_at=timezone.now(),
    )
    session_disconnect(session=account)
    account.refresh_from_db()
    assert (account.should_run, account.status) == (False, SessionStatus.CONNECTED)
    assert account.status_detail == "Disconnecting…"


# --- adding accounts and pacing ----------------------------------------------------------


def test_an_account_name_must_be_unique_whatever_its_case():
    WhatsAppSessionFactory(name="Collections 1")
    with pytest.raises(ValidationError) as refused:
        session_create(name="  collections 1 ")
    assert "already exists" in refused.value.message_dict["name"][0]
    assert WhatsAppSession.objects.count() == 1


def test_a_new_account_starts_with_the_safe_pacing():
    account = session_create(name=" Collections 2 ")
    assert account.name == "Collections 2"
    assert account.status == SessionStatus.NEW
    assert (account.min_delay_seconds, account.max_delay_seconds) == (20, 60)
    assert (account.hourly_cap, account.daily_cap) == (60, 400)


PACING = {
    "min_delay_seconds": 30,
    "max_delay_seconds": 90,
    "hourly_cap": 40,
    "daily_cap": 300,
    "active_from": datetime.time(9, 0),
    "active_until": datetime.time(18, 30),
    "time_zone": "America/Lima",
}


def test_pacing_changes_only_the_pacing_columns():
    account = WhatsAppSessionFactory()
    # The host moved the account on since the operator's copy was loaded.
    WhatsAppSession.objects.filter(pk=account.pk).update(status=SessionStatus.CONNECTED)
    session_update_pacing(session=account, **PACING)
    account.refresh_from_db()
    assert account.status == SessionStatus.CONNECTED
    assert {name: getattr(account, name) for name in PACING} == PACING


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"min_delay_seconds": 61, "max_delay_seconds": 60}, "max_delay_seconds"),
        ({"hourly_cap": 0}, "hourly_cap"),
        ({"daily_cap": 0}, "daily_cap"),
        ({"time_zone": "Mars/Olympus"}, "time_zone"),
        ({"time_zone": "../etc/passwd"}, "time_zone"),
    ],
)
def test_pacing_that_makes_no_sense_is_refused_and_nothing_changes(change, field):
    account = WhatsAppSessionFactory()
    before = {name: getattr(account, name) for name in PACING}
    with pytest.raises(ValidationError) as refused:
        session_update_pacing(session=account, **(PACING | change))
    assert list(refused.value.message_dict) == [field]
    account.refresh_from_db()
    assert {name: getattr(account, name) for name in PACING} == before


def test_a_simulated_scan_needs_an_account_waiting_for_one(settings):
    settings.WHATSAPP_DRIVER = "sandbox"
    account = WhatsAppSessionFactory(status=SessionStatus.CONNECTED)
    account.profile_dir = str(profile_dir_for(session_id=account.pk))
    with pytest.raises(ValueError, match="waiting for a scan"):
        session_simulate_scan(session=account)


def test_a_simulated_scan_marks_the_profile_as_the_phone_would(settings):
    settings.WHATSAPP_DRIVER = "sandbox"
    account = WhatsAppSessionFactory(status=SessionStatus.WAITING_QR)
    profile = profile_dir_for(session_id=account.pk)
    account.profile_dir = str(profile)
    session_simulate_scan(session=account)
    assert (profile / SCAN_MARKER).exists()


def test_real_accounts_cannot_be_scanned_by_a_button(settings):
    settings.WHATSAPP_DRIVER = "selenium"
    account = WhatsAppSessionFactory(status=SessionStatus.WAITING_QR)
    account.profile_dir = str(profile_dir_for(session_id=account.pk))
    with pytest.raises(ValueError, match="only for sandbox"):
        session_simulate_scan(session=account)


# --- pools -------------------------------------------------------------------------------


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
