from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from whatsmassive.demo import demo_seed


class Command(BaseCommand):
    help = "Create demo data (users per role, sandbox accounts, pools, debtors, a draft campaign)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--debtors", type=int, default=300, help="How many demo debtors")

    def handle(self, *args: Any, **options: Any) -> None:
        for login in demo_seed(debtor_count=options["debtors"]):
            password = login.password or (
                f"(unchanged: use `manage.py changepassword {login.username}`)"
            )
            self.stdout.write(f"Demo login ({login.role}): {login.username} / {password}")
