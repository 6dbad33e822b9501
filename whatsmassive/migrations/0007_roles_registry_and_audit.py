"""Everyone sees the do-not-contact registry; Supervisors remove phones from it (consent
given again), browse the audit trail and export it."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Viewer": [("debtors", "view_donotcontact")],
    "Operator": [("debtors", "view_donotcontact")],
    "Supervisor": [
        ("debtors", "view_donotcontact"),
        ("debtors", "restore_contact"),
        ("whatsmassive", "view_auditrecord"),
        ("whatsmassive", "export_audit"),
    ],
}


def grant(apps, schema_editor):
    # Permissions are normally created after all migrations ran; the groups need these now.
    for label in ("debtors", "whatsmassive"):
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        for app_label, codename in perms:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in GRANTS.items():
        group = Group.objects.filter(name=name).first()
        if group is None:
            continue
        for app_label, codename in perms:
            permission = Permission.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is not None:
                group.permissions.remove(permission)


class Migration(migrations.Migration):

    dependencies = [
        ('whatsmassive', '0006_audit_record_append_only'),
        ('debtors', '0010_do_not_contact_registry_and_stop_words'),
    ]

    operations = [migrations.RunPython(grant, revoke)]
