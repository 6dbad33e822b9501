"""The roles' inbox permissions: Viewers read, Operators answer and assign, Supervisors
manage the quick replies."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEWER = ["view_conversation", "view_incomingmessage", "view_quickreply"]
OPERATOR = [*VIEWER, "answer_conversation"]
SUPERVISOR = [*OPERATOR, "add_quickreply", "change_quickreply", "delete_quickreply"]
ROLES = {"Viewer": VIEWER, "Operator": OPERATOR, "Supervisor": SUPERVISOR}


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need these now.
    app_config = apps.get_app_config("inbox")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        Group.objects.get(name=name).permissions.add(
            *Permission.objects.filter(content_type__app_label="inbox", codename__in=codenames)
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in ROLES.items():
        Group.objects.get(name=name).permissions.remove(
            *Permission.objects.filter(content_type__app_label="inbox", codename__in=codenames)
        )


class Migration(migrations.Migration):

    dependencies = [
        ("inbox", "0002_incoming_from_reply_text"),
        ("whatsmassive", "0002_roles"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
