"""The wa-js bundle injected into WhatsApp Web: the vendored one, checked, or the operator's.

`make wajs-update VERSION=x.y.z` replaces the vendored file and the two constants below.
"""

import hashlib
import logging
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

logger = logging.getLogger(__name__)

WAJS_VERSION = "4.6.0"
WAJS_SHA256 = "5bfb88027f14a4d8c9e319374e8bb4083201906881cf8c74f75789b32e4106bd"
VENDORED_BUNDLE = Path(__file__).with_name("vendor") / "wppconnect-wa.js"


def load_bundle() -> str:
    """The bundle's source; the vendored file must match its pinned checksum.

    An operator's WHATSAPP_WAJS_FILE (a newer wa-js dropped in without a release) has no
    pinned checksum: its hash is logged, so what ran can be told afterwards.
    """
    override = settings.WHATSAPP_WAJS_FILE
    path = Path(override) if override else VENDORED_BUNDLE
    try:
        data = path.read_bytes()
    except OSError as exc:
        setting = "WHATSAPP_WAJS_FILE" if override else "the vendored wa-js bundle"
        raise ImproperlyConfigured(f"{setting} {path}: {exc}") from exc
    digest = hashlib.sha256(data).hexdigest()
    if override:
        logger.info("Using wa-js bundle %s (sha256 %s)", path, digest)
    elif digest != WAJS_SHA256:
        raise ImproperlyConfigured(
            f"The vendored wa-js bundle {path} has sha256 {digest}, not the pinned "
            f"{WAJS_SHA256} of wa-js {WAJS_VERSION}; run `make wajs-update VERSION=…`"
        )
    return data.decode("utf-8")
