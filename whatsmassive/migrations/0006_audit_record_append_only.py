"""PostgreSQL refuses UPDATE and DELETE on the audit trail.

The one exception is a purge: `manage.py audit_purge` sets the transaction-local setting
`whatsmassive.audit_purge_before`, and rows older than that time may then be deleted in
that transaction (the command refuses a time inside the retention). SQLite (`make run`)
has no such trigger.
"""

from django.db import migrations

TABLE = "whatsmassive_auditrecord"

FORWARD = f"""
CREATE FUNCTION whatsmassive_audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    purge_before text := current_setting('whatsmassive.audit_purge_before', true);
BEGIN
    IF TG_OP = 'DELETE' AND coalesce(purge_before, '') <> ''
            AND OLD.at < purge_before::timestamptz THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit records are append-only: % refused', TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$;
CREATE TRIGGER whatsmassive_audit_append_only
    BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION whatsmassive_audit_append_only();
"""

BACKWARD = f"""
DROP TRIGGER whatsmassive_audit_append_only ON {TABLE};
DROP FUNCTION whatsmassive_audit_append_only();
"""


class PostgresRunSQL(migrations.RunSQL):
    """RunSQL on PostgreSQL only."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)


class Migration(migrations.Migration):

    dependencies = [
        ('whatsmassive', '0005_audit_record'),
    ]

    operations = [PostgresRunSQL(FORWARD, BACKWARD)]
