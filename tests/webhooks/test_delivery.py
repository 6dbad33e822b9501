import datetime
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from django.utils import timezone

from tests.factories import UserFactory
from webhooks import delivery as delivery_module
from webhooks.delivery import MAX_ATTEMPTS, webhooks_deliver_pending, webhooks_prune
from webhooks.models import (
    DeliveryStatus,
    EventType,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from webhooks.services import delivery_replay, endpoint_create, events_emit

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(receiver):
    def make(**fields):
        created = endpoint_create(
            url=receiver.url, event_types=[EventType.CAMPAIGN_PAUSED], by=UserFactory(), **fields
        )
        receiver.secret = created.secret
        return created

    return make


def _emit(n=1):
    events_emit(type=EventType.CAMPAIGN_PAUSED, rows=[{"campaign_id": i} for i in range(n)])


def _retry_now():
    """Let the clock reach every scheduled retry."""
    WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).update(
        next_attempt_at=timezone.now()
    )


def test_a_receiver_verifies_the_signature_of_each_event(endpoint, receiver):
    assert endpoint().secret.startswith("whsec_")
    _emit(2)
    webhooks_deliver_pending()
    assert receiver.bad_signatures == 0
    bodies = [event for _, event in receiver.events()]
    assert [body["data"]["campaign_id"] for body in bodies] == [0, 1]
    assert {body["type"] for body in bodies} == {"campaign.paused"}
    assert WebhookDelivery.objects.filter(status=DeliveryStatus.SUCCEEDED).count() == 2


def test_after_500s_and_a_timeout_it_retries_with_the_same_webhook_id(endpoint, receiver, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    endpoint()
    receiver.answers = [500, "timeout", 503]
    _emit()
    webhooks_deliver_pending()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.response_status == 500
    assert delivery.next_attempt_at > timezone.now()
    for _ in range(3):
        _retry_now()
        webhooks_deliver_pending()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 4
    assert len(receiver.tries) == 4
    assert set(receiver.tries) == {delivery.webhook_id}
    assert len(receiver.events()) == 1


def test_it_gives_up_after_its_tries(endpoint, receiver):
    endpoint()
    receiver.answers = [500] * MAX_ATTEMPTS
    _emit()
    webhooks_deliver_pending()
    for _ in range(MAX_ATTEMPTS - 1):
        _retry_now()
        webhooks_deliver_pending()
    delivery = WebhookDelivery.objects.get()
    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == MAX_ATTEMPTS == len(receiver.tries)


def test_an_endpoint_failing_every_try_for_3_days_is_disabled(endpoint, receiver):
    created = endpoint()
    receiver.answers = [500, 500]
    _emit()
    webhooks_deliver_pending()
    created.refresh_from_db()
    assert created.enabled  # failing, not for long
    WebhookEndpoint.objects.filter(pk=created.pk).update(
        failing_since=timezone.now() - datetime.timedelta(days=3, seconds=1)
    )
    _retry_now()
    webhooks_deliver_pending()
    created.refresh_from_db()
    assert not created.enabled
    assert "3 days" in created.disabled_reason


def test_a_success_ends_an_endpoint_failing_spell(endpoint, receiver):
    created = endpoint()
    receiver.answers = [500]
    _emit()
    webhooks_deliver_pending()
    created.refresh_from_db()
    assert created.failing_since is not None
    _retry_now()
    webhooks_deliver_pending()
    created.refresh_from_db()
    assert created.failing_since is None


def test_a_replay_sends_a_delivery_again_with_its_id(endpoint, receiver):
    endpoint()
    _emit()
    webhooks_deliver_pending()
    delivery = WebhookDelivery.objects.get()
    delivery_replay(delivery=delivery)
    webhooks_deliver_pending()
    assert receiver.tries == [delivery.webhook_id, delivery.webhook_id]


def test_a_batching_endpoint_takes_up_to_its_batch_size_per_request(endpoint, receiver):
    endpoint(batch_size=100)
    _emit(250)
    webhooks_deliver_pending()
    assert len(receiver.tries) == 3
    assert len(receiver.events()) == 250
    assert len({event["data"]["campaign_id"] for _, event in receiver.events()}) == 250
    assert receiver.bad_signatures == 0


def test_events_arriving_after_a_short_batch_wait_for_the_next_run(endpoint, receiver, monkeypatch):
    endpoint(batch_size=100)
    _emit(30)
    attempt = delivery_module._attempt

    def attempt_while_more_arrive(sent):
        _emit(5)
        return attempt(sent)

    monkeypatch.setattr(delivery_module, "_attempt", attempt_while_more_arrive)
    assert webhooks_deliver_pending() is False
    assert list(WebhookDelivery.objects.values_list("event_count", flat=True)) == [30]
    assert WebhookEvent.objects.count() == 5
    monkeypatch.setattr(delivery_module, "_attempt", attempt)
    webhooks_deliver_pending()
    assert sorted(WebhookDelivery.objects.values_list("event_count", flat=True)) == [5, 30]


def test_a_run_takes_an_event_that_committed_behind_those_already_taken(endpoint, receiver):
    created = endpoint(batch_size=100)
    _emit(2)
    first = WebhookEvent.objects.order_by("id").first()
    webhooks_deliver_pending()
    # A transaction that took its id before those two and committed once they were taken.
    WebhookEvent.objects.create(
        id=first.pk,
        endpoint=created,
        type=EventType.CAMPAIGN_PAUSED,
        payload={"type": "campaign.paused", "data": {"campaign_id": "late"}},
        created_at=timezone.now(),
    )
    _emit(1)
    webhooks_deliver_pending()
    assert [event["data"]["campaign_id"] for _, event in receiver.events()] == [0, 1, "late", 0]
    assert not WebhookEvent.objects.exists()


def test_a_delivery_takes_its_events_out_of_the_outbox_and_replays_the_same_body(
    endpoint, receiver
):
    endpoint(batch_size=100)
    _emit(3)
    webhooks_deliver_pending()
    delivery = WebhookDelivery.objects.get()
    assert not WebhookEvent.objects.exists()
    assert delivery.event_count == 3
    delivery_replay(delivery=delivery)
    webhooks_deliver_pending()
    first, again = receiver.received
    assert first.webhook_id == again.webhook_id
    assert first.body == again.body
    assert [event["data"]["campaign_id"] for event in first.body["data"]["events"]] == [0, 1, 2]


def test_old_succeeded_deliveries_are_pruned(endpoint, receiver):
    endpoint()
    _emit(2)
    webhooks_deliver_pending()
    kept = WebhookDelivery.objects.order_by("id").last()
    WebhookDelivery.objects.exclude(pk=kept.pk).update(
        delivered_at=timezone.now() - datetime.timedelta(days=8)
    )
    assert webhooks_prune(keep=datetime.timedelta(days=7)) == 1
    assert list(WebhookDelivery.objects.all()) == [kept]


class Resolver:
    """`socket.getaddrinfo` for one made-up host name: each lookup takes the next answer
    (the last one repeats); every other name resolves as usual."""

    def __init__(self, monkeypatch, name, *answers):
        self.name, self.answers, self.lookups = name, list(answers), 0
        self._real = socket.getaddrinfo
        monkeypatch.setattr(socket, "getaddrinfo", self)

    def __call__(self, host, port, *args, **kwargs):
        if host != self.name:
            return self._real(host, port, *args, **kwargs)
        address = self.answers[min(self.lookups, len(self.answers) - 1)]
        self.lookups += 1
        return self._real(address, port, *args, **kwargs)


@pytest.fixture
def internal_service():
    """Something on 127.0.0.1 a rebound name could be pointed at: counts who connects."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    yield listener
    listener.close()


def _connections(listener):
    try:
        connection, _ = listener.accept()
    except TimeoutError:
        return 0
    connection.close()
    return 1


def test_a_name_rebound_to_an_internal_address_after_the_check_is_not_reached(
    settings, monkeypatch, internal_service
):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    port = internal_service.getsockname()[1]
    resolver = Resolver(monkeypatch, "hooks.example.test", "93.184.216.34")
    endpoint_create(
        url=f"https://hooks.example.test:{port}/hooks",
        event_types=[EventType.CAMPAIGN_PAUSED],
        by=UserFactory(),
    )
    # Public to the check before the request, internal to any lookup after it.
    resolver.answers = ["93.184.216.34", "127.0.0.1"]
    resolver.lookups = 0
    _emit()
    webhooks_deliver_pending()
    assert resolver.lookups == 1
    assert _connections(internal_service) == 0
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.attempts, delivery.response_status) == (
        DeliveryStatus.PENDING,
        1,
        None,
    )


def test_the_request_keeps_the_host_name_in_its_host_header(endpoint, receiver, monkeypatch):
    port = receiver.url.split(":")[2].split("/")[0]
    receiver.url = f"http://hooks.example.test:{port}/hooks?tenant=7"
    # Checked at 127.0.0.1, where the receiver listens; nothing listens on 127.0.0.2.
    Resolver(monkeypatch, "hooks.example.test", "127.0.0.1", "127.0.0.1", "127.0.0.2")
    endpoint()
    _emit()
    webhooks_deliver_pending()
    assert [item.host for item in receiver.received] == [f"hooks.example.test:{port}"]
    assert [item.path for item in receiver.received] == ["/hooks?tenant=7"]


def _certificate(tmp_path, name):
    """A CA (its PEM file) and a certificate it signed for `name` (PEM with its key)."""
    now = datetime.datetime.now(datetime.UTC)

    def signed(subject, issuer, public_key, signer, extensions):
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
        )
        for extension, critical in extensions:
            builder = builder.add_extension(extension, critical=critical)
        return builder.sign(signer, hashes.SHA256())

    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = signed(
        "Test CA",
        "Test CA",
        ca_key.public_key(),
        ca_key,
        [
            (x509.BasicConstraints(ca=True, path_length=None), True),
            (x509.KeyUsage(True, False, False, False, False, True, True, False, False), True),
            (x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False),
        ],
    )
    leaf = signed(
        name,
        "Test CA",
        key.public_key(),
        ca_key,
        [
            (x509.SubjectAlternativeName([x509.DNSName(name)]), False),
            (x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False),
            (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False),
        ],
    )
    ca_file, leaf_file = tmp_path / "ca.pem", tmp_path / "leaf.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    leaf_file.write_bytes(
        leaf.public_bytes(serialization.Encoding.PEM)
        + key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, leaf_file


@pytest.fixture
def tls_receiver(tmp_path, monkeypatch):
    """An https receiver on 127.0.0.1 whose certificate names `certified` (set by the test),
    trusted through a test CA; records the SNI name and Host header of each request."""
    seen = {"sni": [], "host": [], "port": 0}

    def serve(certified):
        ca_file, leaf_file = _certificate(tmp_path, certified)
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(leaf_file)
        context.sni_callback = lambda _socket, name, _context: seen["sni"].append(name)

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers["Content-Length"]))
                seen["host"].append(self.headers["Host"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, format, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        seen["port"] = server.server_address[1]
        return seen

    servers = []
    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _https_endpoint(monkeypatch, port):
    Resolver(monkeypatch, "hooks.example.test", "127.0.0.1")
    endpoint_create(
        url=f"https://hooks.example.test:{port}/hooks",
        event_types=[EventType.CAMPAIGN_PAUSED],
        by=UserFactory(),
    )


def test_https_to_the_checked_address_still_sends_and_verifies_the_host_name(
    tls_receiver, monkeypatch
):
    seen = tls_receiver("hooks.example.test")
    _https_endpoint(monkeypatch, seen["port"])
    _emit()
    webhooks_deliver_pending()
    assert WebhookDelivery.objects.get().status == DeliveryStatus.SUCCEEDED
    assert seen["sni"] == ["hooks.example.test"]
    assert seen["host"] == [f"hooks.example.test:{seen['port']}"]


def test_https_refuses_a_certificate_for_another_name(tls_receiver, monkeypatch):
    seen = tls_receiver("elsewhere.example.test")
    _https_endpoint(monkeypatch, seen["port"])
    _emit()
    webhooks_deliver_pending()
    delivery = WebhookDelivery.objects.get()
    assert (delivery.status, delivery.response_status) == (DeliveryStatus.PENDING, None)
    assert "certificate" in delivery.response_excerpt.lower()
    assert seen["host"] == []
