"""Pick the WhatsApp driver named by WHATSAPP_DRIVER and place account profiles."""

from pathlib import Path

from django.conf import settings

from sessions_app.drivers.base import WhatsAppDriver

DRIVERS = ("selenium", "sandbox")


def profile_dir_for(*, session_id: int) -> Path:
    """The account's own profile directory on this host, private to our user (0700)."""
    path = Path(settings.WHATSAPP_PROFILES_DIR) / f"account-{session_id}"
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def get_driver(*, profile_dir: Path) -> WhatsAppDriver:
    name = settings.WHATSAPP_DRIVER
    if name == "sandbox":
        from sessions_app.drivers.sandbox import SandboxDriver

        return SandboxDriver(profile_dir=profile_dir)
    if name == "selenium":
        from sessions_app.drivers.whatsapp_web import SeleniumDriver

        return SeleniumDriver(profile_dir=profile_dir)
    raise ValueError(f"WHATSAPP_DRIVER must be one of {', '.join(DRIVERS)}, not {name!r}")
