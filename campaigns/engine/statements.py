"""Running the engine's hot statements.

The steps every message takes are written as SQL: at hundreds of messages a second the
ORM's per-query Python cost outweighs PostgreSQL's. Each statement is still one
conditional UPDATE of one message (guarded by its expected status), and the SQL is the
same on SQLite (`make run`) except that SQLite, with one writer at a time, needs no locks.
"""

import re
from typing import Any

from django.db import connection
from django.db.models import Model


def table(model: type[Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def literal(status: str) -> str:
    """A status (or another fixed name: an event type) as an SQL literal. Partial indexes
    (`WHERE status = 'pending'`) serve only statements that spell the status out, not ones
    that pass it as a parameter."""
    if not re.fullmatch(r"[a-z_.]+", status):
        raise ValueError(f"not a status: {status!r}")
    return f"'{status}'"


def run(sql: str, params: dict[str, Any]) -> tuple[int, list[tuple[Any, ...]]]:
    """Run one of the engine's statements: (rows changed, rows returned).

    On PostgreSQL the statement is prepared, so it is planned once per connection rather
    than on every message (planning the claim costs as much as running it). Django's own
    cursors bind parameters on the client and cannot prepare.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.rowcount, cursor.fetchall() if cursor.description else []
    import psycopg

    connection.ensure_connection()
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.rowcount, cursor.fetchall() if cursor.description else []
