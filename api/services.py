import logging
from typing import cast

from django.contrib.auth.models import AbstractBaseUser
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from whatsmassive.models import APIKey, APIKeyScope

logger = logging.getLogger(__name__)


@transaction.atomic
def api_key_create(*, user: AbstractBaseUser, name: str, scope: str) -> tuple[APIKey, str]:
    """A new key for `user`: returns it and its secret, which is never shown again."""
    name = name.strip()
    if not name:
        raise ValidationError({"name": _("Give the key a name (what uses it).")})
    if scope not in APIKeyScope.values:
        raise ValidationError({"scope": _("Choose read or write.")})
    created, secret = APIKey.objects.create_key(name=name[:50], user=user, scope=scope)
    key = cast(APIKey, created)
    logger.info("API key %s (%s) created for %s", key.prefix, scope, user.get_username())
    return key, secret


@transaction.atomic
def api_key_revoke(*, key: APIKey) -> None:
    APIKey.objects.filter(pk=key.pk).update(revoked=True)
    logger.info("API key %s revoked", key.prefix)
