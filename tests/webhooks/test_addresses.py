import pytest
from django.core.exceptions import ValidationError

from webhooks.addresses import endpoint_url_check


@pytest.fixture(autouse=True)
def _public_only(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hooks",  # not https
        "https://127.0.0.1/hooks",
        "https://localhost/hooks",
        "https://10.1.2.3/hooks",
        "https://192.168.0.10/hooks",
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://100.64.0.1/hooks",  # shared address space
        "https://[::1]/hooks",
        "https://[::ffff:10.0.0.1]/hooks",
        "https://[fe80::1]/hooks",
        "https://user:pass@93.184.216.34/hooks",
    ],
)
def test_it_refuses_addresses_that_are_not_public_https(url):
    with pytest.raises(ValidationError):
        endpoint_url_check(url)


def test_it_takes_a_public_https_address():
    endpoint_url_check("https://93.184.216.34/hooks")


def test_private_addresses_and_http_are_allowed_when_configured(settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    endpoint_url_check("http://127.0.0.1:8080/hooks")
