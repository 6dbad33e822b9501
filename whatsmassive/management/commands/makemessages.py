"""Django's makemessages, leaving out what no user of the product reads.

Everyone runs `manage.py makemessages -l es` (and `-d djangojs`) from the project root; the
catalogue test runs the same command, so what it extracts is the same everywhere.
"""

from typing import Any

from django.core.management.commands import makemessages

# Tests, collected static files, and the JavaScript run inside WhatsApp Web's own page.
IGNORED = ["tests/*", "staticfiles/*", "var/*", "bench/*", "sessions_app/drivers/*"]


class Command(makemessages.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        options["ignore_patterns"] = [*options.get("ignore_patterns", []), *IGNORED]
        super().handle(*args, **options)
