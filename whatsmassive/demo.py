"""Demo data for `make run`: sandbox accounts, one pool per strategy, debtors, a draft campaign."""

import datetime
import random
import secrets
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.utils import timezone

from campaigns.models import Campaign
from debtors.models import Debtor
from sessions_app.models import Pool, PoolMember, PoolStrategy, WhatsAppSession
from whatsmassive import roles

FIRST_NAMES = [
    "María",
    "José",
    "Luis",
    "Ana",
    "Carlos",
    "Juliana",
    "Andrés",
    "Paola",
    "Jorge",
    "Camila",
    "Diego",
    "Valentina",
    "Santiago",
    "Laura",
    "Felipe",
    "Daniela",
    "Ricardo",
    "Natalia",
    "Hernán",
    "Lucía",
    "Óscar",
    "Sofía",
    "Mauricio",
    "Catalina",
    "Iván",
    "Mónica",
]
LAST_NAMES = [
    "Gómez",
    "Rodríguez",
    "Martínez",
    "López",
    "García",
    "Pérez",
    "Sánchez",
    "Ramírez",
    "Torres",
    "Díaz",
    "Vargas",
    "Castro",
    "Rojas",
    "Moreno",
    "Jiménez",
    "Muñoz",
    "Ortiz",
    "Herrera",
    "Medina",
    "Castaño",
    "Peña",
    "Ríos",
    "Suárez",
    "Restrepo",
]
DEMO_TEMPLATE = (
    "Hola {name}, le recordamos que su obligación {reference} por {amount} vence el "
    "{due_date}. Responda a este mensaje para acordar el pago. Para no recibir más "
    "mensajes escriba STOP."
)
DEMO_USERNAME = "admin"
# One demo user per role, to see what each may do.
DEMO_ROLE_USERS = {
    "viewer": roles.VIEWER,
    "operator": roles.OPERATOR,
    "supervisor": roles.SUPERVISOR,
}


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str | None  # None: the account existed and its password is not known here
    role: str = "Admin"


def _password_file(username: str) -> Path:
    return settings.VAR_DIR / f"demo-{username}-password"


def _demo_user(username: str, role: str) -> DemoLogin:
    """The demo user, created with a generated password kept in VAR_DIR (mode 0600)."""
    user_model = get_user_model()
    password_file = _password_file(username)
    if user_model.objects.filter(username=username).exists():
        known = password_file.read_text().strip() if password_file.exists() else None
        return DemoLogin(username, known, role)
    password = secrets.token_urlsafe(12)
    if role == "Admin":
        user_model.objects.create_superuser(username, f"{username}@example.com", password)
    else:
        user = user_model.objects.create_user(username, f"{username}@example.com", password)
        user.groups.add(Group.objects.get(name=role))
    password_file.parent.mkdir(parents=True, exist_ok=True)
    password_file.write_text(password + "\n")
    password_file.chmod(0o600)
    return DemoLogin(username, password, role)


def _demo_debtors(count: int) -> None:
    rng = random.Random(20261124)  # the same "realistic" people on every run
    today = timezone.localdate()
    debtors = []
    for index in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        # One in forty numbers ends in 000: the sandbox network treats those as not on WhatsApp.
        suffix = "000" if index % 40 == 39 else f"{rng.randrange(1000):03d}"
        national = f"3{rng.randrange(0, 25):02d}{rng.randrange(1000, 9999)}{suffix}"
        debtors.append(
            Debtor(
                name=f"{first} {last} {rng.choice(LAST_NAMES)}",
                phone_e164=f"+57{national}",
                phone_raw=f"{national[:3]} {national[3:6]} {national[6:]}",
                amount=Decimal(rng.randrange(50_000, 12_000_000, 1_000)),
                currency="COP",
                due_date=today + datetime.timedelta(days=rng.randrange(-60, 45)),
                reference=f"CR-{100000 + index}",
                extra={"branch": rng.choice(["Bogotá", "Medellín", "Cali", "Barranquilla"])},
            )
        )
    Debtor.objects.bulk_create(debtors, ignore_conflicts=True)


@transaction.atomic
def demo_seed(*, debtor_count: int = 300) -> list[DemoLogin]:
    """Create the demo world and its users (the admin first); a second run changes nothing."""
    logins = [_demo_user(DEMO_USERNAME, "Admin")]
    logins += [_demo_user(username, role) for username, role in DEMO_ROLE_USERS.items()]
    accounts = []
    for number in range(1, 4):
        account, _ = WhatsAppSession.objects.get_or_create(
            name=f"Sandbox {number}",
            defaults={
                # Sandbox accounts may send fast for demos; real accounts keep the safe defaults.
                "min_delay_seconds": 1,
                "max_delay_seconds": 3,
                "hourly_cap": 2000,
                "daily_cap": 10000,
                "active_from": datetime.time(0, 0),
                "active_until": datetime.time(0, 0),
                # Warmed up, and free to open as many chats as a demo campaign needs.
                "new_chats_per_day": 10000,
                "linked_at": timezone.now() - datetime.timedelta(days=60),
            },
        )
        accounts.append(account)
    pools = {}
    for strategy in PoolStrategy:
        pool, created = Pool.objects.get_or_create(
            name=f"Demo {strategy.label}", defaults={"strategy": strategy}
        )
        if created:
            PoolMember.objects.bulk_create(
                PoolMember(pool=pool, session=account, position=position, weight=position + 1)
                for position, account in enumerate(accounts)
            )
        pools[strategy] = pool
    _demo_debtors(debtor_count)
    Campaign.objects.get_or_create(
        name="Recordatorio de pago (demo)",
        defaults={
            "template": DEMO_TEMPLATE,
            "pool": pools[PoolStrategy.COMPETITIVE],
            "created_by": get_user_model().objects.get(username=DEMO_USERNAME),
        },
    )
    return logins
