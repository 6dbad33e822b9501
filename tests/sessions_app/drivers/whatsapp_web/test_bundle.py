"""The vendored wa-js bundle is checked against its pinned checksum; an override is logged."""

import hashlib
import logging

import pytest
from django.core.exceptions import ImproperlyConfigured

from sessions_app.drivers.whatsapp_web import bundle


def test_the_vendored_bundle_matches_its_pinned_checksum(settings):
    settings.WHATSAPP_WAJS_FILE = ""

    source = bundle.load_bundle()

    assert hashlib.sha256(source.encode()).hexdigest() == bundle.WAJS_SHA256
    assert f"wa-js v{bundle.WAJS_VERSION}" in source[:200]
    assert "Apache License" in (bundle.VENDORED_BUNDLE.parent / "LICENSE").read_text()


def test_a_changed_vendored_bundle_is_refused(settings, tmp_path, monkeypatch):
    settings.WHATSAPP_WAJS_FILE = ""
    changed = tmp_path / "wppconnect-wa.js"
    changed.write_text(bundle.VENDORED_BUNDLE.read_text() + "\n// edited")
    monkeypatch.setattr(bundle, "VENDORED_BUNDLE", changed)

    with pytest.raises(ImproperlyConfigured, match="not the pinned"):
        bundle.load_bundle()


def test_an_operators_bundle_is_used_and_its_hash_logged(settings, tmp_path, caplog):
    newer = tmp_path / "wa-js-9.9.9.js"
    newer.write_text("window.WPP = {};")
    settings.WHATSAPP_WAJS_FILE = str(newer)

    with caplog.at_level(logging.INFO, logger=bundle.__name__):
        source = bundle.load_bundle()

    assert source == "window.WPP = {};"
    assert hashlib.sha256(b"window.WPP = {};").hexdigest() in caplog.text


def test_a_missing_operators_bundle_names_the_setting(settings, tmp_path):
    settings.WHATSAPP_WAJS_FILE = str(tmp_path / "absent.js")

    with pytest.raises(ImproperlyConfigured, match="WHATSAPP_WAJS_FILE"):
        bundle.load_bundle()
