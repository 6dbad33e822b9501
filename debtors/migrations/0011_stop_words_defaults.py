"""The STOP words a new installation starts with; edited later in the admin.

TCPA's revocation words (FCC 24-24, 47 CFR 64.1200(a)(12)) and their Spanish and Portuguese
counterparts. Phrases that also occur in ordinary replies about a debt only count when they
are the whole reply: "cancelar" alone opts out, "quiero cancelar la deuda" (pay it off) does
not; "no más" opts out, "no más tarde del viernes" does not.
"""

from django.db import migrations

ANYWHERE, ALONE = "anywhere", "alone"
DEFAULTS = [
    ("stop", "en", ANYWHERE),
    ("unsubscribe", "en", ANYWHERE),
    ("opt out", "en", ANYWHERE),
    ("revoke", "en", ANYWHERE),
    ("quit", "en", ALONE),
    ("end", "en", ALONE),
    ("cancel", "en", ALONE),
    ("baja", "es", ALONE),
    ("de baja", "es", ANYWHERE),
    ("no me escriban", "es", ANYWHERE),
    ("no me escriba", "es", ANYWHERE),
    ("alto", "es", ALONE),
    ("parar", "es", ALONE),
    ("cancelar", "es", ALONE),
    ("no más", "es", ALONE),
    ("sair", "pt", ALONE),
    ("parar de enviar", "pt", ANYWHERE),
]


def create_defaults(apps, schema_editor):
    StopWord = apps.get_model("debtors", "StopWord")
    for phrase, language, match in DEFAULTS:
        StopWord.objects.get_or_create(phrase=phrase, defaults={"language": language, "match": match})


def delete_defaults(apps, schema_editor):
    StopWord = apps.get_model("debtors", "StopWord")
    StopWord.objects.filter(phrase__in=[phrase for phrase, _, _ in DEFAULTS]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('debtors', '0010_do_not_contact_registry_and_stop_words'),
    ]

    operations = [migrations.RunPython(create_defaults, delete_defaults)]
