"""A delivery keeps its body and takes its events out of the outbox.

Events already in a delivery are folded into that delivery's body (the one the delivery
worker sent) and deleted; those not yet taken stay as the outbox. The events' endpoint
reference loses its database constraint (see WebhookEvent).
"""

import json

from django.db import migrations, models


def bodies_from_events(apps, schema_editor):  # type: ignore[no-untyped-def]
    WebhookDelivery = apps.get_model("webhooks", "WebhookDelivery")
    WebhookEvent = apps.get_model("webhooks", "WebhookEvent")
    taken = WebhookEvent.objects.exclude(delivery=None)
    for delivery in WebhookDelivery.objects.filter(pk__in=taken.values("delivery")).select_related(
        "endpoint"
    ):
        payloads = list(
            taken.filter(delivery=delivery).order_by("id").values_list("payload", flat=True)
        )
        if delivery.endpoint.batch_size == 1 and len(payloads) == 1:
            body = payloads[0]
        else:
            stamp = delivery.created_at.isoformat().replace("+00:00", "Z")
            body = {"type": "batch", "timestamp": stamp, "data": {"events": payloads}}
        delivery.body = json.dumps(body, separators=(",", ":"))
        delivery.event_count = len(payloads)
        delivery.save(update_fields=["body", "event_count"])
    taken.delete()


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="webhookdelivery",
            name="body",
            field=models.TextField(default="", editable=False),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="event_count",
            field=models.PositiveSmallIntegerField(default=0, help_text="Events it carries"),
        ),
        migrations.RunPython(bodies_from_events, migrations.RunPython.noop),
        migrations.RemoveIndex(model_name="webhookevent", name="webhookevent_undelivered"),
        migrations.RemoveField(model_name="webhookevent", name="delivery"),
        migrations.AlterField(
            model_name="webhookevent",
            name="endpoint",
            field=models.ForeignKey(
                db_constraint=False,
                db_index=False,
                on_delete=models.deletion.CASCADE,
                related_name="events",
                to="webhooks.webhookendpoint",
            ),
        ),
        migrations.AddIndex(
            model_name="webhookevent",
            index=models.Index(fields=["endpoint", "id"], name="webhookevent_endpoint"),
        ),
    ]
