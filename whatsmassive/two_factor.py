"""A second factor for staff and Supervisors: TOTP (enrolled with a QR) and recovery codes.

With REQUIRE_2FA on (the default when DEBUG is off) such a user, once past the password,
reaches nothing but enrolment or verification until a code from their authenticator app (or
one of their single-use recovery codes) is accepted for the session.
"""

from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db import transaction
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django_otp import user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from whatsmassive import roles

RECOVERY_CODES = 10


def needs_second_factor(user: AbstractBaseUser | AnonymousUser) -> bool:
    if not isinstance(user, User) or not user.is_authenticated:
        return False
    return user.is_staff or user.groups.filter(name=roles.SUPERVISOR).exists()


class TokenForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=16,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}),
    )

    def clean_token(self) -> str:
        return str(self.cleaned_data["token"]).replace(" ", "")


def totp_device_pending(*, user: User) -> TOTPDevice:
    """The authenticator being linked: the same one until a code from it is confirmed."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def totp_device_confirm(*, device: TOTPDevice) -> list[str]:
    """Make `device` the user's one authenticator and issue fresh recovery codes (shown once)."""
    TOTPDevice.objects.filter(user=device.user, confirmed=True).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    recovery, _ = StaticDevice.objects.get_or_create(user=device.user, name="Recovery codes")
    recovery.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
    StaticToken.objects.bulk_create(StaticToken(device=recovery, token=code) for code in codes)
    return codes


def second_factor_redirect(*, step: str, next_url: str) -> HttpResponseRedirect:
    """To the second-factor page `step` (a URL name), coming back to `next_url` after."""
    return redirect(f"{reverse(step)}?{urlencode({'next': next_url})}")


class SecondFactorMiddleware:
    """With REQUIRE_2FA, staff and Supervisors reach only the second-factor pages (and log
    out) until their session is verified."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: object, kwargs: object
    ) -> HttpResponseBase | None:
        if not settings.REQUIRE_2FA or not needs_second_factor(request.user):
            return None
        if request.user.is_verified():  # type: ignore[union-attr]
            return None
        open_paths = {
            reverse("second_factor_verify"),
            reverse("second_factor_enrol"),
            reverse("logout"),
            reverse("javascript_catalog"),
            reverse("language_switch"),
        }
        if request.path in open_paths:
            return None
        step = "second_factor_verify" if user_has_device(request.user) else "second_factor_enrol"
        return second_factor_redirect(step=step, next_url=request.get_full_path())
