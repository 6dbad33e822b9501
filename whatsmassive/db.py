import unicodedata

from django.db import models
from django.db.backends.base.base import BaseDatabaseWrapper


def choices_check(
    field: str, choices: type[models.Choices], *, name: str
) -> models.CheckConstraint:
    """A database CHECK that keeps `field` within `choices`, whoever writes the row."""
    return models.CheckConstraint(condition=models.Q(**{f"{field}__in": choices.values}), name=name)


# The same text search key on both databases: lower case, accents off ("Peña" -> "pena").
# PostgreSQL: `immutable_unaccent` (debtors migration 0014) wraps the `unaccent` extension so
# an index may hold it; SQLite: a Python function of the same name, registered per connection.
SEARCH_KEY_FUNCTION = "immutable_unaccent"


class SearchKey(models.Func):
    """`lower(immutable_unaccent(expression))`: what a GIN trigram index on names holds."""

    template = f"LOWER({SEARCH_KEY_FUNCTION}(%(expressions)s))"
    output_field = models.TextField()


def search_key_text(value: str) -> str:
    """Python's side of the key, for SQLite: NFKD without its combining marks, lower case."""
    decomposed = unicodedata.normalize("NFKD", value)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).lower()


def register_search_key(sender: object, connection: BaseDatabaseWrapper, **kwargs: object) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function(
            SEARCH_KEY_FUNCTION, 1, search_key_text, deterministic=True
        )
