import pytest
from django.test import Client

from api.services import api_key_create
from tests.factories import UserFactory


class KeyClient(Client):
    """Django's test client sending an API key, JSON by default."""

    def __init__(self, secret: str) -> None:
        super().__init__(HTTP_AUTHORIZATION=f"Bearer {secret}")

    def post_json(self, path, data=None, **extra):
        return self.post(path, data=data or {}, content_type="application/json", **extra)

    def patch_json(self, path, data, **extra):
        return self.patch(path, data=data, content_type="application/json", **extra)


@pytest.fixture
def key_owner(db):
    return UserFactory(is_staff=True, is_superuser=True)


@pytest.fixture
def write_key(key_owner):
    _, secret = api_key_create(user=key_owner, name="tests", scope="write")
    return secret


@pytest.fixture
def api(write_key):
    return KeyClient(write_key)
