"""Every debtor opted out so far goes on the do-not-contact registry, source "earlier"."""

from django.db import migrations
from django.db.models import F
from django.db.models.functions import Coalesce, Now


def fill_registry(apps, schema_editor):
    Debtor = apps.get_model("debtors", "Debtor")
    DoNotContact = apps.get_model("debtors", "DoNotContact")
    opted_out = Debtor.objects.filter(opted_out=True).values_list(
        "phone_e164", Coalesce(F("opted_out_at"), F("updated_at"), Now())
    )
    DoNotContact.objects.bulk_create(
        (
            DoNotContact(phone_e164=phone, added_at=at, source="earlier")
            for phone, at in opted_out.iterator(chunk_size=2000)
        ),
        batch_size=2000,
        ignore_conflicts=True,
    )


def empty_registry(apps, schema_editor):
    apps.get_model("debtors", "DoNotContact").objects.filter(source="earlier").delete()


class Migration(migrations.Migration):

    dependencies = [
        ('debtors', '0011_stop_words_defaults'),
    ]

    operations = [migrations.RunPython(fill_registry, empty_registry)]
