"""Every role sees dispositions; Operators and Supervisors record them."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Viewer": ["view_disposition"],
    "Operator": ["view_disposition", "add_disposition"],
    "Supervisor": ["view_disposition", "add_disposition"],
}


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need these now.
    app_config = apps.get_app_config("debtors")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        group.permissions.add(
            *Permission.objects.filter(content_type__app_label="debtors", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    permissions = Permission.objects.filter(
        content_type__app_label="debtors", codename__in=["view_disposition", "add_disposition"]
    )
    for group in Group.objects.filter(name__in=GRANTS):
        group.permissions.remove(*permissions)


class Migration(migrations.Migration):

    dependencies = [
        ('debtors', '0007_debtor_dispositions'),
        ('whatsmassive', '0002_roles'),
    ]

    operations = [migrations.RunPython(grant, revoke)]
