from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('campaigns', '0005_message_indexes_for_stale_statistics'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='campaign',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('run_campaign', 'Can start, pause, resume and cancel campaigns, resolve messages'), ('export_messages', 'Can export campaign messages (debtor data)')]},
        ),
    ]
