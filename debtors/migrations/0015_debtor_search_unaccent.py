from django.contrib.postgres.operations import TrigramExtension, UnaccentExtension
from django.db import migrations

# Debtor search ignores accents and case: "jose" finds "José", "PEÑA" finds "Peña". The
# `unaccent` function is only STABLE (its dictionary could change), so an index cannot hold
# it; the wrapper names the dictionary and is declared IMMUTABLE, the usual way round. The
# name's trigram index moves from UPPER(name) to the search key; the reference, searched
# whole and case-insensitively, gets its own index. PostgreSQL only: on SQLite the key is a
# Python function registered per connection (whatsmassive.db).
FORWARD = [
    """
    CREATE OR REPLACE FUNCTION immutable_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$
    """,
    "CREATE INDEX IF NOT EXISTS debtor_name_search_trgm ON debtors_debtor"
    " USING gin (LOWER(immutable_unaccent(name)) gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS debtor_reference_upper ON debtors_debtor (UPPER(reference))",
    "DROP INDEX IF EXISTS debtor_name_trgm",
]
BACKWARD = [
    "CREATE INDEX IF NOT EXISTS debtor_name_trgm ON debtors_debtor"
    " USING gin (UPPER((name)::text) gin_trgm_ops)",
    "DROP INDEX IF EXISTS debtor_reference_upper",
    "DROP INDEX IF EXISTS debtor_name_search_trgm",
    "DROP FUNCTION IF EXISTS immutable_unaccent(text)",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in FORWARD:
        schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for statement in BACKWARD:
        schema_editor.execute(statement)


class Migration(migrations.Migration):

    dependencies = [
        ('debtors', '0014_verbose_names'),
    ]

    operations = [
        TrigramExtension(),
        UnaccentExtension(),
        migrations.RunPython(forward, backward),
    ]
