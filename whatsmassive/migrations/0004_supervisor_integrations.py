"""Supervisors manage the integrations: API keys and webhooks."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

PERMISSION = ("whatsmassive", "manage_integrations")


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the group needs this one now.
    app_config = apps.get_app_config("whatsmassive")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.get(
        content_type__app_label=PERMISSION[0], codename=PERMISSION[1]
    )
    Group.objects.get(name="Supervisor").permissions.add(permission)


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permission = Permission.objects.filter(
        content_type__app_label=PERMISSION[0], codename=PERMISSION[1]
    ).first()
    if permission is not None:
        Group.objects.get(name="Supervisor").permissions.remove(permission)


class Migration(migrations.Migration):

    dependencies = [
        ('whatsmassive', '0003_apikey'),
    ]

    operations = [migrations.RunPython(grant, revoke)]
