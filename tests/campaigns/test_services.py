import datetime
import threading
from collections import Counter
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from campaigns.models import (
    Campaign,
    CampaignStatus,
    ContactPolicy,
    DateStyle,
    Message,
    MessageStatus,
    OptOutMode,
)
from campaigns.selectors import campaign_preview
from campaigns.services import (
    CampaignStartRefused,
    CampaignTransitionError,
    campaign_cancel,
    campaign_create,
    campaign_pause,
    campaign_resume,
    campaign_start,
    campaign_update,
    message_resolve_unknown,
)
from campaigns.templating import TemplateError
from sessions_app.models import PoolStrategy, SessionStatus
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    MessageFactory,
    PoolFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
)

pytestmark = pytest.mark.django_db


def test_pause_then_resume_a_running_campaign():
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    assert campaign_pause(campaign=campaign).status == CampaignStatus.PAUSED
    assert campaign_resume(campaign=campaign).status == CampaignStatus.RUNNING


def test_a_second_pause_is_refused_with_a_reason():
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    campaign_pause(campaign=campaign)
    with pytest.raises(CampaignTransitionError, match="is paused and cannot become paused"):
        campaign_pause(campaign=campaign)


def test_a_stale_copy_cannot_resume_a_cancelled_campaign():
    campaign = CampaignFactory(status=CampaignStatus.PAUSED)
    stale = type(campaign).objects.get(pk=campaign.pk)
    campaign_cancel(campaign=campaign)
    with pytest.raises(CampaignTransitionError):
        campaign_resume(campaign=stale)
    stale.refresh_from_db()
    assert stale.status == CampaignStatus.CANCELLED


def test_cancel_skips_unsent_messages_and_keeps_sent_ones():
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    pending = MessageFactory(campaign=campaign)
    sent = MessageFactory(campaign=campaign, status=MessageStatus.SENT)
    campaign = campaign_cancel(campaign=campaign)
    pending.refresh_from_db()
    sent.refresh_from_db()
    assert campaign.status == CampaignStatus.CANCELLED
    assert campaign.finished_at is not None
    assert pending.status == MessageStatus.SKIPPED
    assert sent.status == MessageStatus.SENT


def test_a_completed_campaign_cannot_be_cancelled():
    campaign = CampaignFactory(status=CampaignStatus.COMPLETED)
    with pytest.raises(CampaignTransitionError):
        campaign_cancel(campaign=campaign)


def _pool_with(*accounts, strategy=PoolStrategy.COMPETITIVE):
    pool = PoolFactory(strategy=strategy)
    for position, account in enumerate(accounts):
        PoolMemberFactory(pool=pool, session=account, position=position)
    return pool


def test_start_creates_one_pending_message_per_eligible_debtor():
    pool = _pool_with(WhatsAppSessionFactory())
    debtors = DebtorFactory.create_batch(4)
    DebtorFactory(opted_out=True)
    campaign = campaign_start(campaign=CampaignFactory(pool=pool, template="Hola {name}"))
    messages = Message.objects.filter(campaign=campaign)
    assert campaign.status == CampaignStatus.RUNNING
    assert campaign.started_at is not None
    assert sorted(messages.values_list("debtor_id", flat=True)) == sorted(d.pk for d in debtors)
    assert set(messages.values_list("status", flat=True)) == {MessageStatus.PENDING}
    assert messages.get(debtor=debtors[0]).body == f"Hola {debtors[0].name}"


def test_started_messages_take_the_model_defaults_in_every_other_column():
    pool = _pool_with(WhatsAppSessionFactory())
    DebtorFactory()
    before = timezone.now()
    campaign = campaign_start(campaign=CampaignFactory(pool=pool))
    message = Message.objects.get(campaign=campaign)
    assert before <= message.created_at == message.updated_at <= timezone.now()
    assert message.assigned_session_id is None
    assert message.session_id is None
    blank = Message()
    given = {"id", "campaign_id", "debtor_id", "body", "created_at", "updated_at"}
    for field in Message._meta.concrete_fields:
        if field.attname not in given:
            assert getattr(message, field.attname) == getattr(blank, field.attname), field.name


def test_start_honours_the_audience_filter():
    pool = _pool_with(WhatsAppSessionFactory())
    big = DebtorFactory(amount=Decimal("900000"))
    DebtorFactory(amount=Decimal("1000"))
    campaign = campaign_start(
        campaign=CampaignFactory(pool=pool, audience={"amount_min": "500000"})
    )
    assert list(campaign.messages.values_list("debtor", flat=True)) == [big.pk]


def test_a_second_start_is_refused_and_creates_nothing():
    pool = _pool_with(WhatsAppSessionFactory())
    DebtorFactory.create_batch(3)
    campaign = CampaignFactory(pool=pool)
    campaign_start(campaign=campaign)
    with pytest.raises(CampaignTransitionError):
        campaign_start(campaign=campaign)
    assert Message.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_starts_start_the_campaign_once():
    pool = _pool_with(WhatsAppSessionFactory())
    DebtorFactory.create_batch(50)
    campaign = CampaignFactory(pool=pool)
    outcomes = []
    barrier = threading.Barrier(2)

    def click():
        barrier.wait()
        try:
            campaign_start(campaign=Campaign.objects.get(pk=campaign.pk))
            outcomes.append("started")
        except CampaignTransitionError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "started"]
    assert Message.objects.count() == 50


def test_start_is_refused_with_every_reason():
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, enabled=False)
    campaign = CampaignFactory(pool=pool, template="Hola {cuota} {name}")
    with pytest.raises(CampaignStartRefused) as refused:
        campaign_start(campaign=campaign)
    reasons = " ".join(refused.value.reasons)
    assert "has no enabled account" in reasons
    assert "audience is empty" in reasons
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT


def test_unknown_placeholders_are_listed_by_name():
    pool = _pool_with(WhatsAppSessionFactory())
    DebtorFactory(extra={"sucursal": "Cali"})
    campaign = CampaignFactory(pool=pool, template="{name} {sucursal} {deuda} {cuota}")
    with pytest.raises(CampaignStartRefused, match=r"\{deuda\}, \{cuota\}"):
        campaign_start(campaign=campaign)


def test_starting_a_paused_campaign_resumes_it():
    campaign = CampaignFactory(status=CampaignStatus.PAUSED)
    assert campaign_start(campaign=campaign).status == CampaignStatus.RUNNING


def test_fixed_turns_split_within_one_across_members_over_batches(settings, monkeypatch):
    monkeypatch.setattr("campaigns.services.FAN_OUT_BATCH", 7)
    accounts = WhatsAppSessionFactory.create_batch(3)
    pool = _pool_with(*accounts, strategy=PoolStrategy.FIXED_TURNS)
    DebtorFactory.create_batch(31)
    campaign = campaign_start(campaign=CampaignFactory(pool=pool))
    counts = Counter(campaign.messages.values_list("assigned_session", flat=True))
    assert sorted(counts.values()) == [10, 10, 11]


def test_turns_skip_accounts_that_cannot_send_when_others_can():
    good = WhatsAppSessionFactory(status=SessionStatus.CONNECTED)
    banned = WhatsAppSessionFactory(status=SessionStatus.BANNED)
    pool = _pool_with(good, banned, strategy=PoolStrategy.RANDOM_TURNS)
    DebtorFactory.create_batch(20)
    campaign = campaign_start(campaign=CampaignFactory(pool=pool))
    assert set(campaign.messages.values_list("assigned_session", flat=True)) == {good.pk}


def test_an_unknown_message_can_be_marked_sent_or_resent():
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    first = MessageFactory(campaign=campaign, status=MessageStatus.UNKNOWN)
    second = MessageFactory(campaign=campaign, status=MessageStatus.UNKNOWN)
    assert message_resolve_unknown(message=first, sent=True).status == MessageStatus.SENT
    assert message_resolve_unknown(message=second, sent=False).status == MessageStatus.PENDING
    with pytest.raises(CampaignTransitionError):
        message_resolve_unknown(message=first, sent=False)


@pytest.mark.parametrize("status", [CampaignStatus.COMPLETED, CampaignStatus.CANCELLED])
def test_an_unknown_message_of_a_finished_campaign_cannot_be_resent(status):
    message = MessageFactory(campaign=CampaignFactory(status=status), status=MessageStatus.UNKNOWN)
    with pytest.raises(CampaignTransitionError, match="Mark it sent"):
        message_resolve_unknown(message=message, sent=False)
    message.refresh_from_db()
    assert message.status == MessageStatus.UNKNOWN
    assert message_resolve_unknown(message=message, sent=True).status == MessageStatus.SENT


def test_create_refuses_a_template_with_attribute_access():
    with pytest.raises(TemplateError):
        campaign_create(name="x", template="{name.__class__}", pool=PoolFactory(), audience={})


def test_a_draft_can_be_edited():
    campaign = CampaignFactory()
    pool = PoolFactory()
    campaign = campaign_update(
        campaign=campaign, name="New", template="Hi {name}", pool=pool, audience={"search": "a"}
    )
    campaign.refresh_from_db()
    assert (campaign.name, campaign.template, campaign.pool) == ("New", "Hi {name}", pool)
    assert campaign.audience == {"search": "a"}


def test_a_started_campaign_keeps_what_it_was_started_with():
    campaign = CampaignFactory(status=CampaignStatus.RUNNING, template="Hola {name}")
    with pytest.raises(CampaignTransitionError, match="only a draft can be edited"):
        campaign_update(
            campaign=campaign, name="x", template="Other", pool=campaign.pool, audience={}
        )
    campaign.refresh_from_db()
    assert campaign.template == "Hola {name}"


def test_an_edit_refuses_a_template_with_attribute_access():
    campaign = CampaignFactory(template="Hola {name}")
    with pytest.raises(TemplateError):
        campaign_update(
            campaign=campaign,
            name="x",
            template="{name.__class__}",
            pool=campaign.pool,
            audience={},
        )
    campaign.refresh_from_db()
    assert campaign.template == "Hola {name}"


@pytest.mark.parametrize("length", [4001, 120_000])
def test_a_template_over_4000_characters_is_refused_on_create_and_update(length):
    pool = PoolFactory()
    with pytest.raises(TemplateError, match="the most a campaign may send is 4,000"):
        campaign_create(name="Long", template="x" * length, pool=pool, audience={})
    assert not Campaign.objects.filter(name="Long").exists()
    campaign = campaign_create(name="Short", template="x" * 4000, pool=pool, audience={})
    with pytest.raises(TemplateError):
        campaign_update(
            campaign=campaign, name="Short", template="y" * length, pool=pool, audience={}
        )
    campaign.refresh_from_db()
    assert campaign.template == "x" * 4000


# --- message variants and locale -----------------------------------------------------------


def test_start_gives_each_message_one_variant_and_its_body():
    pool = _pool_with(WhatsAppSessionFactory())
    DebtorFactory.create_batch(60)
    campaign = CampaignFactory(
        pool=pool, template="Uno {name}", variants=["Dos {nombre}", "{Tres|Three} {name}"]
    )
    campaign = campaign_start(campaign=campaign)
    messages = list(campaign.messages.select_related("debtor"))
    assert {message.variant for message in messages} == {0, 1, 2}
    for message in messages:
        expected = {
            0: {f"Uno {message.debtor.name}"},
            1: {f"Dos {message.debtor.name}"},
            2: {f"Tres {message.debtor.name}", f"Three {message.debtor.name}"},
        }[message.variant]
        assert message.body in expected


def test_start_sends_what_the_preview_showed():
    pool = _pool_with(WhatsAppSessionFactory())
    DebtorFactory.create_batch(5)
    campaign = CampaignFactory(
        pool=pool, template="{Hola|Buenas} {name}", variants=["{Saludos|Qué tal} {name}"]
    )
    preview = campaign_preview(campaign=campaign)
    campaign_start(campaign=campaign)
    first = Message.objects.get(campaign=campaign, debtor=preview.debtor)
    assert (first.variant, first.body) == (preview.variant, preview.body)


def test_start_writes_money_and_dates_in_the_campaigns_locale():
    pool = _pool_with(WhatsAppSessionFactory())
    debtor = DebtorFactory(
        amount=Decimal("1030000"), currency="MXN", due_date=datetime.date(2026, 12, 15)
    )
    campaign = CampaignFactory(
        pool=pool, template="{saldo} al {vence}", locale="es_MX", date_style=DateStyle.LONG
    )
    campaign_start(campaign=campaign)
    assert Message.objects.get(campaign=campaign, debtor=debtor).body == (
        "$1,030,000.00 al 15 de diciembre de 2026"
    )


def test_the_opt_out_instruction_is_appended_to_the_variants_that_lack_it():
    policy = ContactPolicy.objects.create(
        name="Append", opt_out_mode=OptOutMode.APPEND, opt_out_instruction="Reply STOP."
    )
    pool = _pool_with(WhatsAppSessionFactory())
    DebtorFactory.create_batch(40)
    campaign = CampaignFactory(
        pool=pool, policy=policy, template="Uno", variants=["Dos. Reply STOP."]
    )
    campaign_start(campaign=campaign)
    bodies = dict(campaign.messages.values_list("variant", "body").distinct())
    assert bodies == {0: "Uno\n\nReply STOP.", 1: "Dos. Reply STOP."}


def test_a_required_opt_out_instruction_must_be_in_every_variant():
    policy = ContactPolicy.objects.create(
        name="Reg F", opt_out_mode=OptOutMode.REQUIRED, opt_out_instruction="Reply STOP."
    )
    pool = _pool_with(WhatsAppSessionFactory())
    DebtorFactory()
    campaign = CampaignFactory(
        pool=pool, policy=policy, template="Uno. Reply STOP.", variants=["Dos"]
    )
    with pytest.raises(CampaignStartRefused, match="requires the opt-out instruction"):
        campaign_start(campaign=campaign)


def test_unknown_placeholders_of_a_variant_are_named_with_its_number():
    pool = _pool_with(WhatsAppSessionFactory())
    DebtorFactory()
    campaign = CampaignFactory(pool=pool, template="Hola {nombre}", variants=["Hola {cuota}"])
    with pytest.raises(
        CampaignStartRefused, match=r"Variant 2: Unknown placeholder\(s\): \{cuota\}"
    ):
        campaign_start(campaign=campaign)


def test_create_stores_the_variants_and_the_text_format():
    campaign = campaign_create(
        name="V",
        template="Uno",
        variants=["Dos", "{Tres|Three}"],
        locale="en_US",
        date_style=DateStyle.LONG,
        pool=PoolFactory(),
        audience={},
    )
    campaign.refresh_from_db()
    assert campaign.templates == ["Uno", "Dos", "{Tres|Three}"]
    assert (campaign.locale, campaign.date_style) == ("en_US", DateStyle.LONG)


def test_create_refuses_a_broken_variant():
    with pytest.raises(TemplateError, match="Variant 2"):
        campaign_create(
            name="V", template="Uno", variants=["{Dos|"], pool=PoolFactory(), audience={}
        )
    assert not Campaign.objects.exists()


def test_an_edit_without_variants_keeps_them_and_one_with_variants_replaces_them():
    campaign = CampaignFactory(variants=["Dos"], locale="es_MX")
    fields = {"name": "x", "pool": campaign.pool, "audience": {}}
    campaign = campaign_update(campaign=campaign, template="Uno", **fields)
    assert (campaign.variants, campaign.locale) == (["Dos"], "es_MX")
    campaign = campaign_update(
        campaign=campaign, template="Uno", variants=[], locale="es_CO", **fields
    )
    assert (campaign.templates, campaign.locale) == (["Uno"], "es_CO")
