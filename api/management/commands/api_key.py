from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from api.services import api_key_create
from whatsmassive.models import APIKeyScope


class Command(BaseCommand):
    help = "Create an API key: `api_key create NAME --user U --scope write` (key on the last line)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="Create a key and print it once")
        create.add_argument("name")
        create.add_argument("--user", required=True, help="Username of the key's owner")
        create.add_argument("--scope", choices=APIKeyScope.values, default=APIKeyScope.READ)

    def handle(self, *args: Any, **options: Any) -> None:
        user_model = get_user_model()
        try:
            user = user_model.objects.get(**{user_model.USERNAME_FIELD: options["user"]})
        except user_model.DoesNotExist as exc:
            raise CommandError(f"No user {options['user']!r}.") from exc
        try:
            key, secret = api_key_create(user=user, name=options["name"], scope=options["scope"])
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(
            f"Created API key {key.name} ({key.scope}, prefix {key.prefix}) for {user}"
        )
        self.stdout.write(secret)
