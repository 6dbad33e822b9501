import pytest
from django.test import RequestFactory
from django.urls import NoReverseMatch, reverse

from tests.factories import UserFactory
from whatsmassive.proxies import client_ip
from whatsmassive.settings import EmailServer, email_server

pytestmark = pytest.mark.django_db

LOGINS = ["login", "admin:login"]


def _attempt(client, url, username, password="wrong password", **headers):
    return client.post(url, {"username": username, "password": password}, **headers)


@pytest.mark.parametrize("login", LOGINS)
def test_five_failures_lock_the_username_even_with_the_right_password(client, login):
    user = UserFactory(is_staff=True)
    url = reverse(login)
    for _ in range(4):
        assert _attempt(client, url, user.username).status_code == 200
    locked = _attempt(client, url, user.username)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()

    right = _attempt(client, url, user.username, "correct horse battery")
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session


def test_five_failures_from_one_address_lock_every_username_from_it(client):
    url = reverse("login")
    for number in range(5):
        _attempt(client, url, f"guess{number}", REMOTE_ADDR="203.0.113.7")
    user = UserFactory()
    assert (
        _attempt(
            client, url, user.username, "correct horse battery", REMOTE_ADDR="203.0.113.7"
        ).status_code
        == 429
    )
    other = _attempt(
        client, url, user.username, "correct horse battery", REMOTE_ADDR="198.51.100.9"
    )
    assert other.status_code == 302


def test_a_made_up_forwarded_for_does_not_escape_the_lock(client, settings):
    settings.TRUSTED_PROXY_COUNT = 0
    url = reverse("login")
    for number in range(5):
        _attempt(client, url, f"guess{number}", HTTP_X_FORWARDED_FOR=f"10.9.9.{number}")
    user = UserFactory()
    response = _attempt(
        client, url, user.username, "correct horse battery", HTTP_X_FORWARDED_FOR="192.0.2.55"
    )
    assert response.status_code == 429


def test_behind_one_proxy_only_the_address_it_appended_counts(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    url = reverse("login")
    for number in range(5):
        # The client prepends a new address each time; the proxy appends the real one.
        _attempt(
            client, url, f"guess{number}", HTTP_X_FORWARDED_FOR=f"10.9.9.{number}, 203.0.113.20"
        )
    user = UserFactory()
    spoofed = _attempt(
        client,
        url,
        user.username,
        "correct horse battery",
        HTTP_X_FORWARDED_FOR="192.0.2.55, 203.0.113.20",
    )
    assert spoofed.status_code == 429
    elsewhere = _attempt(
        client, url, user.username, "correct horse battery", HTTP_X_FORWARDED_FOR="203.0.113.21"
    )
    assert elsewhere.status_code == 302


@pytest.mark.parametrize(
    ("trusted", "forwarded", "expected"),
    [
        (0, "198.51.100.1", "127.0.0.9"),
        (1, "", "127.0.0.9"),
        (1, "6.6.6.6, 198.51.100.1", "198.51.100.1"),
        (2, "6.6.6.6, 198.51.100.1, 10.0.0.2", "198.51.100.1"),
        (3, "198.51.100.1, 10.0.0.2", "198.51.100.1"),
    ],
)
def test_the_client_address_trusts_only_the_configured_proxies(
    settings, trusted, forwarded, expected
):
    settings.TRUSTED_PROXY_COUNT = trusted
    request = RequestFactory().get("/", REMOTE_ADDR="127.0.0.9", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_without_a_mail_server_there_are_no_password_reset_pages(client):
    with pytest.raises(NoReverseMatch):
        reverse("password_reset")
    assert client.get("/accounts/password_reset/").status_code == 404
    assert "Forgot your password" not in client.get(reverse("login")).content.decode()


def test_the_mail_server_comes_from_email_url():
    assert email_server("smtp+tls://mailer:p%40ss@mail.example.com") == EmailServer(
        "django.core.mail.backends.smtp.EmailBackend",
        host="mail.example.com",
        port=587,
        user="mailer",
        password="p@ss",
        use_tls=True,
    )
    assert email_server("smtp+ssl://mail.example.com:2465").port == 2465
    assert email_server("").backend.endswith("dummy.EmailBackend")
    with pytest.raises(Exception, match="EMAIL_URL must start"):
        email_server("http://mail.example.com")
