"""Who may do what: the roles are Django groups, and every service checks through `require`.

The groups (Viewer, Operator, Supervisor) and their permissions are created by the data
migration `whatsmassive/migrations/0002_roles.py`; staff superusers (Admin) may do everything.
Views, admin actions and the API call the services with `by=request.user`; the system (engine,
sweep, management commands) passes `by=None`.
"""

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, PermissionsMixin
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

Actor = AbstractBaseUser | AnonymousUser | None

VIEWER = "Viewer"
OPERATOR = "Operator"
SUPERVISOR = "Supervisor"
ROLES = (VIEWER, OPERATOR, SUPERVISOR)


def may(by: Actor, perm: str) -> bool:
    """Whether `by` holds `perm` ("app_label.codename"); the system (None) always does."""
    if by is None:
        return True
    if not isinstance(by, PermissionsMixin | AnonymousUser) or not by.is_active:
        return False
    return by.has_perm(perm)


def require(by: Actor, perm: str) -> None:
    """Raise PermissionDenied unless `by` is the system or holds `perm`."""
    if not may(by, perm):
        raise PermissionDenied(
            _("Your role does not allow this (it needs “%(permission)s”).") % {"permission": perm}
        )
