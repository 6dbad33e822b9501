"""The catalogue guards: no template text left untranslated, and locale/es complete and current.

They read the whole tree, so a string anyone adds without marking it, or without running
`make messages` and translating it, fails here.
"""

import gettext
import re
import shutil
import subprocess
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.template.base import Lexer, TokenType
from django.test import override_settings

TEMPLATES_DIR = settings.BASE_DIR / "templates"
LOCALE_DIR = settings.BASE_DIR / "locale"
DOMAINS = ["django", "djangojs"]
# Names that read the same in every language.
UNTRANSLATABLE = {"WhatsMassive", "WhatsApp", "WhatsApp Web"}
# Attributes a user reads (or hears from a screen reader); the others are not text.
VISIBLE_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt", "label", "hx-confirm"}
BUTTON_INPUTS = {"submit", "button", "reset"}
LETTER = re.compile(r"[^\W\d_]")
# Not prose: scripts, styles, and literal syntax the user types (placeholders such as {name}).
SKIPPED_ELEMENTS = {"script", "style", "code"}


@dataclass(frozen=True)
class Finding:
    path: Path
    line: int
    text: str

    def __str__(self) -> str:
        return f"{self.path.relative_to(settings.BASE_DIR)}:{self.line}: {self.text!r}"


def template_text_only(source: str) -> str:
    """The template's source with every tag, variable and comment blanked out (newlines
    kept, so lines still count), and the text of translate blocks and comments gone too."""
    parts: list[str] = []
    hidden_until: str | None = None
    for token in Lexer(source).tokenize():
        blank = re.sub(r"[^\n]", " ", token.contents) + " " * 4
        if hidden_until is not None:
            if token.token_type is TokenType.BLOCK and token.contents.split()[0] == hidden_until:
                hidden_until = None
            parts.append(re.sub(r"[^\n]", " ", token.contents))
            continue
        if token.token_type is TokenType.TEXT:
            parts.append(token.contents)
            continue
        if token.token_type is TokenType.BLOCK:
            name = token.contents.split()[0]
            if name in {"blocktranslate", "blocktrans"}:
                hidden_until = "endblocktranslate" if name == "blocktranslate" else "endblocktrans"
            elif name == "comment":
                hidden_until = "endcomment"
        parts.append(blank)
    return "".join(parts)


class VisibleText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[int, str]] = []
        self.skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        line = self.getpos()[0]
        values = dict(attrs)
        for name, value in attrs:
            visible = name in VISIBLE_ATTRIBUTES or (
                name == "value" and tag == "input" and values.get("type") in BUTTON_INPUTS
            )
            if visible and value:
                self.found.append((line, value))
        if tag in SKIPPED_ELEMENTS:
            self.skipping += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIPPED_ELEMENTS and self.skipping:
            self.skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.found.append((self.getpos()[0], data))


def has_words(text: str) -> bool:
    for name in sorted(UNTRANSLATABLE, key=len, reverse=True):
        text = text.replace(name, "")
    return bool(LETTER.search(text))


def untranslated(path: Path) -> list[Finding]:
    parser = VisibleText()
    parser.feed(template_text_only(path.read_text()))
    parser.close()
    return [
        Finding(path, line, " ".join(text.split()))
        for line, text in parser.found
        if has_words(text)
    ]


@dataclass(frozen=True)
class Entry:
    context: str
    msgid: str
    msgid_plural: str
    msgstrs: tuple[str, ...]
    fuzzy: bool


def _unquote(line: str) -> str:
    return line[line.index('"') + 1 : line.rindex('"')].encode().decode("unicode_escape")


def po_entries(path: Path) -> list[Entry]:
    """The entries of a .po file, its header left out (none when the domain has no strings)."""
    entries: list[Entry] = []
    if not path.exists():
        return entries
    for block in re.split(r"\n\s*\n", path.read_text()):
        fields: dict[str, str] = {}
        current = ""
        fuzzy = False
        for line in block.splitlines():
            if line.startswith("#,") and "fuzzy" in line:
                fuzzy = True
            elif line.startswith("#"):
                continue
            elif line.startswith('"'):
                fields[current] += _unquote(line)
            elif line.strip():
                current = line.split(" ", 1)[0]
                fields[current] = _unquote(line)
        if "msgid" not in fields or not fields["msgid"]:
            continue
        msgstrs = tuple(value for key, value in fields.items() if key.startswith("msgstr"))
        entries.append(
            Entry(
                fields.get("msgctxt", ""),
                fields["msgid"],
                fields.get("msgid_plural", ""),
                msgstrs,
                fuzzy,
            )
        )
    return entries


def po_path(domain: str, locale_dir: Path = LOCALE_DIR) -> Path:
    return locale_dir / "es" / "LC_MESSAGES" / f"{domain}.po"


def test_every_template_text_is_marked_for_translation() -> None:
    findings = [
        finding for path in sorted(TEMPLATES_DIR.rglob("*.html")) for finding in untranslated(path)
    ]
    assert not findings, "Text outside {% translate %}:\n" + "\n".join(map(str, findings))


def test_the_guard_sees_text_attributes_and_not_markup(tmp_path: Path) -> None:
    template = tmp_path / "page.html"
    template.write_text(
        '{% load i18n %}<p class="lead">{% translate "Saved" %} {{ count }}</p>\n'
        '{# a note #}<a href="/x" title="Open it">→</a>\n'
        "{% blocktranslate %}Hello {{ name }}{% endblocktranslate %}\n"
        '<input type="submit" value="Send"><input name="q" value="{{ q }}">\n'
        "<p>Left out</p>"
    )
    assert [(finding.line, finding.text) for finding in untranslated(template)] == [
        (2, "Open it"),
        (4, "Send"),
        (5, "Left out"),
    ]


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """locale/ as `makemessages -l es` leaves it, made in a copy of the project."""
    project = tmp_path_factory.mktemp("project")
    shutil.copytree(
        settings.BASE_DIR,
        project,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns(".venv", ".git", "var", "staticfiles", "node_modules"),
    )
    with (
        pytest.MonkeyPatch.context() as patch,
        override_settings(LOCALE_PATHS=[project / "locale"]),
    ):
        patch.chdir(project)
        for domain in DOMAINS:
            call_command(
                "makemessages", locale=["es"], domain=domain, no_obsolete=True, verbosity=0
            )
    return project / "locale"


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_catalogue_holds_exactly_the_marked_strings(domain: str, extracted: Path) -> None:
    committed = {(e.context, e.msgid) for e in po_entries(po_path(domain))}
    current = {(e.context, e.msgid) for e in po_entries(po_path(domain, extracted))}
    assert not current - committed, (
        f"not in locale/ yet (run `make messages`): {current - committed}"
    )
    assert not committed - current, f"no longer in the code: {committed - current}"


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_string_has_a_reviewed_spanish_translation(domain: str) -> None:
    entries = po_entries(po_path(domain))
    assert not [e.msgid for e in entries if e.fuzzy], "fuzzy translations"
    assert not [e.msgid for e in entries if not all(e.msgstrs)], "untranslated strings"


@pytest.mark.parametrize("domain", DOMAINS)
def test_the_compiled_catalogue_is_the_translated_one(domain: str, tmp_path: Path) -> None:
    if not po_path(domain).exists():
        assert not po_path(domain).with_suffix(".mo").exists()
        return
    compiled = tmp_path / f"{domain}.mo"
    subprocess.run(["msgfmt", "--check", "-o", str(compiled), str(po_path(domain))], check=True)
    committed = po_path(domain).with_suffix(".mo")
    with committed.open("rb") as ours, compiled.open("rb") as fresh:
        expected = gettext.GNUTranslations(fresh)._catalog  # type: ignore[attr-defined]
        assert gettext.GNUTranslations(ours)._catalog == expected, "run `make messages`"  # type: ignore[attr-defined]
