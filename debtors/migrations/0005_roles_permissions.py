from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('debtors', '0004_debtor_whatsapp_identity'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='debtor',
            options={'ordering': ['name', 'id'], 'permissions': [('opt_out_debtor', 'Can opt debtors out'), ('export_debtors', 'Can export debtors')]},
        ),
    ]
