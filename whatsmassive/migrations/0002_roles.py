"""The roles: Viewer, Operator and Supervisor groups with their permissions.

Admin is a staff superuser and needs no group. The permission lists are written here, as
they were when the roles were made, so later code changes do not rewrite history; a later
migration changes a role by adding or removing its own permissions.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWER = [
    "campaigns.view_campaign",
    "campaigns.view_message",
    "debtors.view_debtor",
    "debtors.view_debtorimport",
    "sessions_app.view_whatsappsession",
    "sessions_app.view_pool",
    "sessions_app.view_poolmember",
    "whatsmassive.view_systemlog",
]
OPERATOR = VIEWER + [
    "campaigns.add_campaign",
    "campaigns.change_campaign",
    "campaigns.run_campaign",
    "debtors.opt_out_debtor",
    "debtors.change_debtor",
    "debtors.add_debtorimport",
]
SUPERVISOR = OPERATOR + [
    "sessions_app.manage_accounts",
    "sessions_app.manage_pools",
    "campaigns.export_messages",
    "debtors.export_debtors",
]
ROLES = {"Viewer": VIEWER, "Operator": OPERATOR, "Supervisor": SUPERVISOR}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        for perm in perms:
            app_label, codename = perm.split(".")
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def delete_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):

    dependencies = [
        ('whatsmassive', '0001_initial'),
        ('auth', '0012_alter_user_first_name_max_length'),
        ('contenttypes', '0002_remove_content_type_name'),
        ('campaigns', '0006_roles_permissions'),
        ('debtors', '0005_roles_permissions'),
        ('sessions_app', '0004_roles_permissions'),
    ]

    operations = [
        migrations.RunPython(create_roles, delete_roles),
    ]
