"""The data file of WhatsApp Web facts (selectors, texts, URL paths), with operator overrides.

WhatsApp Web changes its markup every few months, so every selector, text and URL path the
DOM strategy relies on lives in `selectors.json`, which `WHATSAPP_SELECTORS_FILE` may
override key by key without a release.
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured

DEFAULT_SELECTORS_FILE = Path(__file__).with_name("selectors.json")


@dataclass(frozen=True)
class SelectorCheck:
    """Whether one selector of the data file matches the live page (`matches` < 0: invalid)."""

    name: str
    selector: str
    matches: int

    @property
    def ok(self) -> bool:
        return self.matches > 0


class WebSelectors:
    """The data file's content, with typed access."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def css(self, name: str) -> list[str]:
        return list(self.data["selectors"][name])

    def attribute(self, name: str) -> str:
        return str(self.data["attributes"][name])

    def url(self, name: str) -> str:
        return str(self.data["urls"][name])

    def message_id(self, name: str) -> list[str]:
        return list(self.data["message_id"][name])

    def icons(self, status: str) -> list[str]:
        return list(self.data["status_icons"][status])

    def texts(self, name: str) -> list[str]:
        return list(self.data["texts"][name])

    def read_icon_colors(self) -> list[str]:
        return list(self.data["read_icon_colors"])

    def local_storage(self, name: str) -> list[str]:
        return list(self.data["local_storage"][name])


def load_selectors(override_file: str | Path | None = None) -> WebSelectors:
    """The built-in data file, with `override_file` (if any) merged over it key by key."""
    data: dict[str, Any] = json.loads(DEFAULT_SELECTORS_FILE.read_text(encoding="utf-8"))
    if override_file:
        path = Path(override_file)
        try:
            override = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise ImproperlyConfigured(f"WHATSAPP_SELECTORS_FILE {path}: {exc}") from exc
        if not isinstance(override, dict):
            raise ImproperlyConfigured(f"WHATSAPP_SELECTORS_FILE {path}: must be a JSON object")
        data = _merge(data, override, source=path, prefix="")
    return WebSelectors(data)


def _merge(
    defaults: dict[str, Any], override: dict[str, Any], *, source: Path, prefix: str
) -> dict[str, Any]:
    merged = dict(defaults)
    for key, value in override.items():
        where = f"{prefix}{key}"
        if key not in defaults:
            raise ImproperlyConfigured(
                f"WHATSAPP_SELECTORS_FILE {source}: unknown key {where!r} "
                f"(known: {', '.join(sorted(defaults))})"
            )
        default = defaults[key]
        if isinstance(default, dict):
            if not isinstance(value, dict):
                raise ImproperlyConfigured(
                    f"WHATSAPP_SELECTORS_FILE {source}: {where!r} must be an object"
                )
            merged[key] = _merge(default, value, source=source, prefix=f"{where}.")
        elif isinstance(default, list):
            if (
                not value
                or not isinstance(value, list)
                or not all(isinstance(item, str) and item for item in value)
            ):
                raise ImproperlyConfigured(
                    f"WHATSAPP_SELECTORS_FILE {source}: {where!r} must be a non-empty list "
                    "of strings (fallbacks, in order)"
                )
            merged[key] = value
        else:
            if not isinstance(value, str) or not value:
                raise ImproperlyConfigured(
                    f"WHATSAPP_SELECTORS_FILE {source}: {where!r} must be a non-empty string"
                )
            merged[key] = value
    return merged
