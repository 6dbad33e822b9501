"""Contact policies, their presets, and every campaign following the default one.

The presets are written here as they were when made; later edits are the operators'.
Colombia is the default: the demo data, DEFAULT_PHONE_REGION and TIME_ZONE are Colombian.
"""

import campaigns.models
import django.db.models.deletion
import django.db.models.expressions
from django.db import migrations, models


WEEKDAYS_7_19 = [[["07:00", "19:00"]]] * 5
PRESETS = [
    {
        "name": "Colombia, Ley 2300 de 2023",
        "description": (
            "Ley 2300 de 2023, artículo 3: Monday to Friday 07:00-19:00, Saturday"
            " 08:00-15:00, never on Sundays or Colombian public holidays, at most one"
            " contact a day."
        ),
        "windows": [*WEEKDAYS_7_19, [["08:00", "15:00"]], []],
        "holiday_country": "CO",
        "max_per_day": 1,
        "is_default": True,
    },
    {
        "name": "United States, Reg F §1006.6(b)(1)(i)",
        "description": (
            "12 CFR 1006.6(b)(1)(i): no communication before 08:00 or after 21:00 at the"
            " consumer's location; §1006.6(e): electronic messages say how to opt out."
        ),
        "windows": [[["08:00", "21:00"]]] * 7,
        "opt_out_mode": "append",
        "opt_out_instruction": "Reply STOP to stop these messages.",
    },
    {
        "name": "Mexico, CONDUSEF",
        "description": (
            "CONDUSEF, Mexico's financial consumer protection commission, on collection:"
            " contact between 07:00 and 22:00 in the debtor's local time."
        ),
        "windows": [[["07:00", "22:00"]]] * 7,
    },
]


def create_presets(apps, schema_editor):
    ContactPolicy = apps.get_model("campaigns", "ContactPolicy")
    Campaign = apps.get_model("campaigns", "Campaign")
    for preset in PRESETS:
        ContactPolicy.objects.create(**preset)
    default = ContactPolicy.objects.get(is_default=True)
    Campaign.objects.filter(policy=None).update(policy=default)


def delete_presets(apps, schema_editor):
    apps.get_model("campaigns", "Campaign").objects.update(policy=None)
    apps.get_model("campaigns", "ContactPolicy").objects.all().delete()


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0007_template_max_length'),
        ('debtors', '0013_debtor_time_zone'),
        ('sessions_app', '0004_roles_permissions'),
    ]

    operations = [
        migrations.CreateModel(
            name='ContactPolicy',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('name', models.CharField(max_length=200, unique=True)),
                ('description', models.TextField(blank=True, help_text='Where the rules come from')),
                ('windows', models.JSONField(default=campaigns.models.always_open_windows, help_text="Per weekday, Monday first: [from, until] ranges in the debtor's local time")),
                ('holiday_country', models.CharField(blank=True, help_text='ISO country code: closed on its public holidays', max_length=2)),
                ('max_per_day', models.PositiveSmallIntegerField(blank=True, help_text='Messages per debtor per local day, all campaigns', null=True)),
                ('max_per_period', models.PositiveSmallIntegerField(blank=True, help_text='Messages per debtor within the period below', null=True)),
                ('period_days', models.PositiveSmallIntegerField(blank=True, help_text="The period's length in local days, today included", null=True)),
                ('opt_out_mode', models.CharField(choices=[('not_required', 'not required'), ('required', 'required: refuse to start without it'), ('append', 'appended to every message')], default='not_required', max_length=20, verbose_name='opt-out instruction')),
                ('opt_out_instruction', models.CharField(blank=True, help_text='How to stop the messages, e.g. “Reply STOP to…”', max_length=300)),
                ('opt_out_confirmation', models.CharField(blank=True, help_text='The one reply sent after a debtor opts out', max_length=300)),
                ('is_default', models.BooleanField(default=False, help_text='New campaigns follow it unless they pick another', verbose_name='default')),
                ('created_at', models.DateTimeField(auto_now_add=True)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'verbose_name_plural': 'contact policies',
                'ordering': ['name'],
            },
        ),
        migrations.RemoveIndex(
            model_name='message',
            name='message_pending_assigned',
        ),
        migrations.AddField(
            model_name='campaign',
            name='time_zones',
            field=models.JSONField(blank=True, default=list, editable=False, help_text="Its debtors' zone keys at start; a message's zone group is a position here"),
        ),
        migrations.AddField(
            model_name='message',
            name='zone_group',
            field=models.PositiveSmallIntegerField(db_default=0, default=0),
        ),
        migrations.AddIndex(
            model_name='message',
            index=models.Index(django.db.models.expressions.CombinedExpression(django.db.models.expressions.CombinedExpression(models.F('campaign_id'), '*', models.Value(10000)), '+', models.F('zone_group')), models.F('assigned_session'), models.F('id'), condition=models.Q(('status', 'pending')), name='message_pending_window'),
        ),
        migrations.AddConstraint(
            model_name='contactpolicy',
            constraint=models.CheckConstraint(condition=models.Q(('opt_out_mode__in', ['not_required', 'required', 'append'])), name='contact_policy_opt_out_mode_valid'),
        ),
        migrations.AddConstraint(
            model_name='contactpolicy',
            constraint=models.UniqueConstraint(condition=models.Q(('is_default', True)), fields=('is_default',), name='contact_policy_one_default', violation_error_message='Only one contact policy can be the default.'),
        ),
        migrations.AddConstraint(
            model_name='contactpolicy',
            constraint=models.CheckConstraint(condition=models.Q(('max_per_period__isnull', True), ('period_days__gte', 1), _connector='OR'), name='contact_policy_period_has_days', violation_error_message="A cap over a period needs the period's days."),
        ),
        migrations.AddConstraint(
            model_name='contactpolicy',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(models.Q(('opt_out_mode', 'not_required'), _negated=True), models.Q(('opt_out_instruction', ''), _negated=True)), ('opt_out_mode', 'not_required'), _connector='OR'), name='contact_policy_opt_out_has_text', violation_error_message='Say what the opt-out instruction is.'),
        ),
        migrations.AddField(
            model_name='campaign',
            name='policy',
            field=models.ForeignKey(blank=True, default=campaigns.models.default_policy, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='campaigns', to='campaigns.contactpolicy', verbose_name='contact policy'),
        ),
        migrations.RunPython(create_presets, delete_presets),
    ]
