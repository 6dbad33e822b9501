import datetime
from decimal import Decimal
from typing import Any

import factory
from django.contrib.auth.models import User
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from campaigns.selectors import IN_FLIGHT_STATUSES, SENT_STATUSES
from debtors.models import Debtor
from inbox.models import Conversation, IncomingMessage, QuickReply
from sessions_app.models import Pool, PoolMember, WhatsAppSession
from whatsmassive.models import LogLevel, SystemLog


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"operator{n}")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.com")
    password = factory.django.Password("correct horse battery")


class WhatsAppSessionFactory(factory.django.DjangoModelFactory[WhatsAppSession]):
    class Meta:
        model = WhatsAppSession

    name = factory.Sequence(lambda n: f"Account {n}")
    # Sandbox accounts in tests send as fast as the engine allows, at any hour.
    min_delay_seconds = 0
    max_delay_seconds = 0
    hourly_cap = 100_000
    daily_cap = 1_000_000
    active_from = datetime.time(0, 0)
    active_until = datetime.time(0, 0)
    # Past its warm-up, with a new-chat budget no test run reaches.
    new_chats_per_day = 1_000_000
    linked_at = factory.LazyFunction(lambda: timezone.now() - datetime.timedelta(days=60))


class PoolFactory(factory.django.DjangoModelFactory[Pool]):
    class Meta:
        model = Pool

    name = factory.Sequence(lambda n: f"Pool {n}")


class PoolMemberFactory(factory.django.DjangoModelFactory[PoolMember]):
    class Meta:
        model = PoolMember

    pool = factory.SubFactory(PoolFactory)
    session = factory.SubFactory(WhatsAppSessionFactory)
    position = factory.Sequence(lambda n: n)


class DebtorFactory(factory.django.DjangoModelFactory[Debtor]):
    class Meta:
        model = Debtor

    name = factory.Faker("name", locale="es_CO")
    # Never ending in 000: the sandbox network treats those numbers as not on WhatsApp.
    phone_e164 = factory.Sequence(lambda n: f"+5731{n:07d}9")
    amount = Decimal("150000.00")
    due_date = datetime.date(2026, 12, 15)
    reference = factory.Sequence(lambda n: f"REF-{n:06d}")


class CampaignFactory(factory.django.DjangoModelFactory[Campaign]):
    class Meta:
        model = Campaign

    name = factory.Sequence(lambda n: f"Campaign {n}")
    template = "Hola {name}, su saldo es {amount}."
    pool = factory.SubFactory(PoolFactory)


class MessageFactory(factory.django.DjangoModelFactory[Message]):
    class Meta:
        model = Message

    campaign = factory.SubFactory(CampaignFactory)
    debtor = factory.SubFactory(DebtorFactory)
    body = "Hola"


class ConversationFactory(factory.django.DjangoModelFactory[Conversation]):
    class Meta:
        model = Conversation

    debtor = factory.SubFactory(DebtorFactory)
    last_activity_at = factory.LazyFunction(timezone.now)


class IncomingMessageFactory(factory.django.DjangoModelFactory[IncomingMessage]):
    class Meta:
        model = IncomingMessage

    conversation = factory.SubFactory(ConversationFactory)
    sender_phone = factory.LazyAttribute(lambda o: o.conversation.debtor.phone_e164)
    text = "Ya pagué"
    received_at = factory.LazyFunction(timezone.now)


class QuickReplyFactory(factory.django.DjangoModelFactory[QuickReply]):
    class Meta:
        model = QuickReply

    title = factory.Sequence(lambda n: f"Answer {n}")
    text = "Gracias {name}, su saldo es {amount}."


class SystemLogFactory(factory.django.DjangoModelFactory[SystemLog]):
    class Meta:
        model = SystemLog

    level = LogLevel.INFO
    source = "campaigns.engine"
    message = factory.Sequence(lambda n: f"Log entry {n}")


def running_campaign(
    *, status: str = CampaignStatus.RUNNING, pending: int = 0, **counts: int
) -> Campaign:
    """A started campaign whose pool has one account, with `n` messages per status keyword
    (`running_campaign(pending=3, sent=1, unknown=2)`)."""
    member = PoolMemberFactory.create()
    now = timezone.now()
    campaign = CampaignFactory.create(pool=member.pool, status=status, started_at=now)
    for message_status, n in {MessageStatus.PENDING: pending, **counts}.items():
        handed_over = message_status != MessageStatus.PENDING
        for _ in range(n):
            MessageFactory(
                campaign=campaign,
                status=message_status,
                session=member.session if handed_over else None,
                attempts=1 if handed_over else 0,
                sent_at=now if message_status in SENT_STATUSES else None,
                lease_until=now if message_status in IN_FLIGHT_STATUSES else None,
            )
    return campaign


def replied_message(
    *, reply_text: str = "Ya pagué", replied_at: datetime.datetime | None = None, **fields: Any
) -> Message:
    """A message the debtor answered: the answer is an incoming message of their conversation."""
    message = MessageFactory.create(**fields)
    conversation, _ = Conversation.objects.get_or_create(
        debtor=message.debtor, defaults={"last_activity_at": timezone.now()}
    )
    IncomingMessageFactory.create(
        conversation=conversation,
        in_reply_to=message,
        text=reply_text,
        received_at=replied_at or timezone.now(),
    )
    return message
