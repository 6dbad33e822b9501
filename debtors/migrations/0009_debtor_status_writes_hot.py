from django.db import migrations


def _set_fillfactor(value: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            # Room in each page for the new version of a row: a HOT update needs it there.
            # Pages written before this keep their fill until rewritten (VACUUM FULL).
            schema_editor.execute(f"ALTER TABLE debtors_debtor {value}")

    return run


class Migration(migrations.Migration):

    dependencies = [
        ("debtors", "0008_disposition_permissions"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="debtor",
            name="debtor_status_id",
        ),
        migrations.RunPython(
            _set_fillfactor("SET (fillfactor = 85)"), _set_fillfactor("RESET (fillfactor)")
        ),
    ]
