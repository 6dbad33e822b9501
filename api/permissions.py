"""Who may do what through the API: the caller's permissions, limited by the key's scope."""

from typing import Any

from django.core.exceptions import PermissionDenied
from rest_framework import permissions
from rest_framework.request import Request

from whatsmassive.models import APIKey, APIKeyScope


class KeyScope(permissions.BasePermission):
    """Authenticated callers only; a `read` key may only use safe methods."""

    message = "This API key is read-only: create a key with the write scope."

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        key = request.auth
        if isinstance(key, APIKey) and key.scope != APIKeyScope.WRITE:
            return request.method in permissions.SAFE_METHODS
        return True


def require(request: Request, permission: str) -> None:
    """Refuse (403) unless the caller, a key's owner included, holds `permission`."""
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"You need the permission {permission}.")
