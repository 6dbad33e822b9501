from webhooks.models import WebhookDelivery, WebhookEndpoint


def test_an_endpoint_is_registered_its_secret_shown_once_and_deliveries_replayed(
    client, staff_user
):
    client.force_login(staff_user)
    page = client.post(
        "/settings/webhooks/",
        {"url": "http://127.0.0.1:9/hooks", "event_types": ["message.sent"], "batch_size": "10"},
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret.encode() in page.content
    assert endpoint.secret.encode() not in client.get("/settings/webhooks/").content
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, webhook_id="msg_1", status="failed"
    )
    detail = client.get(f"/settings/webhooks/{endpoint.pk}/")
    assert b"msg_1" in detail.content
    client.post(f"/settings/webhooks/{endpoint.pk}/deliveries/{delivery.pk}/replay/")
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("pending", 0)


def test_a_bad_address_is_refused_with_its_reason(client, staff_user, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    client.force_login(staff_user)
    page = client.post(
        "/settings/webhooks/", {"url": "https://10.0.0.1/hooks", "event_types": ["message.sent"]}
    )
    assert b"not a public address" in page.content
    assert not WebhookEndpoint.objects.exists()
