import re
import time

import pytest
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from whatsmassive.two_factor import RECOVERY_CODES

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def require_2fa(settings):
    settings.REQUIRE_2FA = True
    # After a wrong code django-otp refuses every code for a growing delay; tests try the
    # right one at once.
    settings.OTP_TOTP_THROTTLE_FACTOR = settings.OTP_STATIC_THROTTLE_FACTOR = 0


def _code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = time.time()
    return f"{totp.token():0{device.digits}d}"


def _enrol(client) -> list[str]:
    client.get(reverse("second_factor_enrol"))
    device = TOTPDevice.objects.get(confirmed=False)
    response = client.post(
        reverse("second_factor_enrol"), {"token": _code(device), "next": reverse("log_list")}
    )
    assert response.status_code == 200
    return re.findall(r"<li><code>(\w+)</code></li>", response.content.decode())


@pytest.mark.parametrize("who", ["staff_user", "supervisor"])
def test_staff_and_supervisors_enrol_before_reaching_any_page(client, who, request):
    client.force_login(request.getfixturevalue(who))
    for url in (reverse("dashboard"), "/admin/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("second_factor_enrol"))

    page = client.get(reverse("second_factor_enrol")).content.decode()
    assert "<svg" in page  # the QR to scan
    assert "otpauth://totp/" in page
    codes = _enrol(client)
    assert len(codes) == RECOVERY_CODES
    assert client.get(reverse("dashboard")).status_code == 200


def test_a_wrong_code_links_nothing(client, supervisor):
    client.force_login(supervisor)
    client.get(reverse("second_factor_enrol"))
    response = client.post(reverse("second_factor_enrol"), {"token": "000000"})
    assert "does not match" in response.content.decode()
    assert not TOTPDevice.objects.filter(confirmed=True).exists()
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_new_session_asks_for_a_code_and_a_recovery_code_works_once(client, supervisor):
    client.force_login(supervisor)
    codes = _enrol(client)
    client.logout()

    client.force_login(supervisor)
    response = client.get(reverse("dashboard"))
    assert response["Location"].startswith(reverse("second_factor_verify"))
    wrong = client.post(reverse("second_factor_verify"), {"token": "123456"})
    assert "not valid" in wrong.content.decode()
    assert wrong.status_code == 200
    right = client.post(reverse("second_factor_verify"), {"token": codes[0], "next": "/logs/"})
    assert right["Location"] == "/logs/"
    assert client.get(reverse("dashboard")).status_code == 200

    client.logout()
    client.force_login(supervisor)
    used = client.post(reverse("second_factor_verify"), {"token": codes[0]})
    assert "not valid" in used.content.decode()


def test_a_foreign_next_address_is_not_followed(client, supervisor):
    client.force_login(supervisor)
    codes = _enrol(client)
    client.logout()
    client.force_login(supervisor)
    response = client.post(
        reverse("second_factor_verify"), {"token": codes[1], "next": "https://evil.example/"}
    )
    assert response["Location"] == reverse("dashboard")


def test_operators_need_no_second_factor(client, operator):
    client.force_login(operator)
    assert client.get(reverse("dashboard")).status_code == 200


def test_nobody_is_asked_when_it_is_off(client, staff_user, settings):
    settings.REQUIRE_2FA = False
    client.force_login(staff_user)
    assert client.get(reverse("dashboard")).status_code == 200
