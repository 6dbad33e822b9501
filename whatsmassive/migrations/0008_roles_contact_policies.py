"""Everyone sees the contact policies; Supervisors create and change them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Viewer": ["view_contactpolicy"],
    "Operator": ["view_contactpolicy"],
    "Supervisor": ["view_contactpolicy", "add_contactpolicy", "change_contactpolicy"],
}


def _permissions(apps, codenames):
    Permission = apps.get_model("auth", "Permission")
    return Permission.objects.filter(content_type__app_label="campaigns", codename__in=codenames)


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need these now.
    app_config = apps.get_app_config("campaigns")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    for name, codenames in GRANTS.items():
        Group.objects.get(name=name).permissions.add(*_permissions(apps, codenames))


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name, codenames in GRANTS.items():
        Group.objects.get(name=name).permissions.remove(*_permissions(apps, codenames))


class Migration(migrations.Migration):

    dependencies = [
        ('whatsmassive', '0007_roles_registry_and_audit'),
        ('campaigns', '0008_contact_policies'),
    ]

    operations = [migrations.RunPython(grant, revoke)]
