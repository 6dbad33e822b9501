from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('sessions_app', '0003_whatsapp_web_states'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='pool',
            options={'ordering': ['name'], 'permissions': [('manage_pools', 'Can create, edit and delete pools and their members')]},
        ),
        migrations.AlterModelOptions(
            name='whatsappsession',
            options={'ordering': ['name'], 'permissions': [('manage_accounts', 'Can add, connect, disconnect and log out accounts, set pacing')], 'verbose_name': 'WhatsApp account'},
        ),
    ]
