"""Campaign message templates: placeholders, spintax and variants, filled from a debtor.

Only plain names are allowed between braces: `{name.__class__}` or `{extra[0]}` would let
a template reach into Python objects, so they are syntax errors here. `{{` and `}}` write
literal braces. A brace group with `|` is spintax: `{Hola|Buenos días}` sends one of its
choices; a choice may hold placeholders but no other group.

A campaign may have several texts (variants); each message gets one. Variant and choices
are picked from the debtor's id and the texts, so rendering again (the preview, a retry)
gives the same message.
"""

import datetime
import functools
import hashlib
import random
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

from babel.dates import format_date, get_date_format
from babel.numbers import format_currency, format_decimal
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from debtors.models import Debtor

BASE_PLACEHOLDERS = ("name", "amount", "due_date", "reference", "phone", "currency")
# Spanish names an operator may write instead; each fills what its English name fills.
PLACEHOLDER_ALIASES = {
    "nombre": "name",
    "saldo": "amount",
    "monto": "amount",
    "vence": "due_date",
    "fecha_vencimiento": "due_date",
    "referencia": "reference",
    "telefono": "phone",
    "moneda": "currency",
}
SPANISH_PLACEHOLDERS = ("nombre", "saldo", "vence", "referencia", "telefono", "moneda")

DEFAULT_LOCALE = "es_CO"
DATE_LONG = "long"
DATE_SHORT = "short"

# Longer texts made messages WhatsApp cuts or refuses (a debtor's fields only add to it).
TEMPLATE_MAX_CHARS = 4000
# Variants of one campaign: enough to vary the bodies, few enough to compare their results.
MAX_VARIANTS = 10


class TemplateError(ValueError):
    """The template cannot be rendered; the message says why, for the operator."""


@dataclass(frozen=True)
class Field:
    name: str


# A spintax choice: literal text and placeholders.
Choice = tuple[str | Field, ...]


@dataclass(frozen=True)
class Spin:
    choices: tuple[Choice, ...]


Part = str | Field | Spin


def placeholder_chips(language: str | None) -> tuple[str, ...]:
    """The placeholder names the editor offers to an operator working in `language`."""
    return SPANISH_PLACEHOLDERS if language and language.startswith("es") else BASE_PLACEHOLDERS


def template_check(template: str) -> None:
    """Raise TemplateError unless `template` is short enough and its syntax is valid."""
    if len(template) > TEMPLATE_MAX_CHARS:
        raise TemplateError(
            _(
                "The message text has %(length)s characters; "
                "the most a campaign may send is %(limit)s."
            )
            % {"length": f"{len(template):,}", "limit": f"{TEMPLATE_MAX_CHARS:,}"}
        )
    template_parse(template)


def variants_check(templates: Sequence[str]) -> None:
    """Raise TemplateError unless there are 1 to MAX_VARIANTS valid texts."""
    if not templates:
        raise TemplateError(_("Write the message text."))
    if len(templates) > MAX_VARIANTS:
        raise TemplateError(
            _("A campaign may have at most %(limit)s variants of its message.")
            % {"limit": MAX_VARIANTS}
        )
    for number, template in enumerate(templates, start=1):
        try:
            template_check(template)
        except TemplateError as exc:
            if len(templates) == 1:
                raise
            raise TemplateError(
                _("Variant %(number)s: %(error)s") % {"number": number, "error": exc}
            ) from exc


def _field(name: str) -> Field:
    if not name.isidentifier():
        raise TemplateError(
            _("“{%(field)s}” is not a placeholder: use plain names like {name} or {amount}.")
            % {"field": name}
        )
    return Field(name)


_UNCLOSED = gettext_noop("A “{” is never closed: close it with }, or write {{ for a literal brace.")


def _parse_group(text: str, start: int) -> tuple[Field | Spin, int]:
    """The placeholder or spintax group opened just before `start`, and where it ends."""
    end = len(text)
    stop = next((i for i in range(start, end) if text[i] in "{}|"), end)
    if stop == end:
        raise TemplateError(_(_UNCLOSED))
    if text[stop] == "}":
        return _field(text[start:stop]), stop + 1
    choices: list[Choice] = []
    choice: list[str | Field] = []
    literal: list[str] = []
    i = start
    while i < end:
        char = text[i]
        if char in "{}" and text.startswith(char * 2, i):
            literal.append(char)
            i += 2
            continue
        if char == "{":
            inner = next((j for j in range(i + 1, end) if text[j] in "{}|"), end)
            if inner < end and text[inner] != "}":
                raise TemplateError(
                    _(
                        "Spintax groups cannot hold other groups: write each choice out in "
                        "full, e.g. {Hola|Buenos días}."
                    )
                )
            if inner == end:
                raise TemplateError(_(_UNCLOSED))
            choice.extend(["".join(literal), _field(text[i + 1 : inner])])
            literal = []
            i = inner + 1
            continue
        if char in "|}":
            choice.append("".join(literal))
            choices.append(tuple(part for part in choice if part != ""))
            choice, literal = [], []
            i += 1
            if char == "}":
                if len(choices) == 1:
                    raise TemplateError(
                        _(
                            "“{%(group)s}” is neither a placeholder nor a choice: "
                            "separate choices with |, e.g. {Hola|Buenos días}."
                        )
                        % {"group": text[start : i - 1]}
                    )
                return Spin(tuple(choices)), i
            continue
        literal.append(char)
        i += 1
    raise TemplateError(_(_UNCLOSED))


def template_parse(template: str) -> list[Part]:
    """`template` as literal text, placeholders and spintax groups (TemplateError if invalid)."""
    parts: list[Part] = []
    literal: list[str] = []
    i, end = 0, len(template)
    while i < end:
        char = template[i]
        if char in "{}" and template.startswith(char * 2, i):
            literal.append(char)
            i += 2
        elif char == "{":
            if literal:
                parts.append("".join(literal))
                literal = []
            group, i = _parse_group(template, i + 1)
            parts.append(group)
        elif char == "}":
            raise TemplateError(_("A “}” closes nothing: write }} for a literal brace."))
        else:
            literal.append(char)
            i += 1
    if literal:
        parts.append("".join(literal))
    return parts


def _fields(parts: Iterable[Part | str | Field]) -> Iterable[str]:
    for part in parts:
        if isinstance(part, Field):
            yield part.name
        elif isinstance(part, Spin):
            for choice in part.choices:
                yield from _fields(choice)


def template_placeholders(template: str) -> list[str]:
    """The placeholder names in `template`, in order of first appearance."""
    return list(dict.fromkeys(_fields(template_parse(template))))


def template_unknown_placeholders(template: str, *, extra_keys: Iterable[str]) -> list[str]:
    known = set(BASE_PLACEHOLDERS) | set(PLACEHOLDER_ALIASES) | set(extra_keys)
    return [name for name in template_placeholders(template) if name not in known]


# CLDR puts a space between a currency code and the digits (COP 1,030,000), Babel does not.
_GLUED_CODE = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_PROBE = Decimal("1234567")


@dataclass(frozen=True)
class _MoneyLayout:
    """How a locale writes one currency, learnt from Babel once: Babel takes a few hundred
    microseconds per amount, and a campaign's start writes one per debtor."""

    prefix: str
    suffix: str
    group: str
    decimal: str
    digits: int

    def apply(self, amount: Decimal) -> str:
        quantum = Decimal(1).scaleb(-self.digits)
        number = f"{amount.quantize(quantum, rounding=ROUND_HALF_EVEN):,.{self.digits}f}"
        swapped = number.translate({ord(","): "\0", ord("."): self.decimal})
        return self.prefix + swapped.replace("\0", self.group) + self.suffix


def _babel_amount(amount: Decimal, currency: str, locale: str) -> str:
    return _GLUED_CODE.sub("\xa0", format_currency(amount, currency, locale=locale))


@functools.cache
def _money_layout(currency: str, locale: str) -> _MoneyLayout | None:
    """The layout, or None when the probe does not read as prefix, 1?234?567[?digits],
    suffix (then every amount goes through Babel)."""
    probe = _babel_amount(_PROBE, currency, locale)
    found = re.fullmatch(r"(\D*)1(\D)234\2567(?:(\D)(\d+))?(\D*)", probe)
    if found is None:
        return None
    prefix, group, decimal, fraction, suffix = found.groups()
    return _MoneyLayout(prefix, suffix, group, decimal or "", len(fraction or ""))


def format_amount(amount: Decimal, currency: str, *, locale: str = DEFAULT_LOCALE) -> str:
    """`amount` as the locale writes money: es_CO COP is $1.030.000, es_MX MXN $1,030,000.00."""
    if not currency:
        return format_decimal(amount, locale=locale)
    layout = _money_layout(currency, locale) if amount >= 0 else None
    if layout is None:
        return _babel_amount(amount, currency, locale)
    return layout.apply(amount)


# A campaign's debtors share a few due dates.
@functools.lru_cache(maxsize=1 << 12)
def format_due_date(
    value: datetime.date, *, locale: str = DEFAULT_LOCALE, style: str = DATE_SHORT
) -> str:
    """Long: "15 de diciembre de 2026"; short: the locale's numeric order with two-digit
    day and month and the whole year (CLDR's short dates write "15/12/26")."""
    if style == DATE_LONG:
        return format_date(value, "long", locale=locale)
    pattern = str(get_date_format("short", locale=locale).pattern)
    pattern = re.sub("y+", "yyyy", re.sub("M+", "MM", re.sub("d+", "dd", pattern)))
    return format_date(value, pattern, locale=locale)


def debtor_values(
    debtor: Debtor, *, locale: str = DEFAULT_LOCALE, date_style: str = DATE_SHORT
) -> dict[str, str]:
    values = {str(key): "" if value is None else str(value) for key, value in debtor.extra.items()}
    values.update(
        name=debtor.name,
        amount=format_amount(debtor.amount, debtor.currency, locale=locale),
        due_date=(
            format_due_date(debtor.due_date, locale=locale, style=date_style)
            if debtor.due_date
            else ""
        ),
        reference=debtor.reference,
        phone=debtor.phone_e164,
        currency=debtor.currency,
    )
    values.update({alias: values[name] for alias, name in PLACEHOLDER_ALIASES.items()})
    return values


class MessageTemplate:
    """A template parsed once, rendered for many debtors."""

    def __init__(
        self, text: str, *, locale: str = DEFAULT_LOCALE, date_style: str = DATE_SHORT
    ) -> None:
        self.text = text
        self.parts = template_parse(text)
        self.placeholders = list(dict.fromkeys(_fields(self.parts)))
        self.locale = locale
        self.date_style = date_style
        self._key = hashlib.sha256(text.encode()).hexdigest()

    def render(self, debtor: Debtor, *, salt: str = "") -> str:
        """The message for `debtor`; an extra field this debtor lacks renders empty. Spintax
        choices depend on the debtor, the text and `salt` only."""
        values = debtor_values(debtor, locale=self.locale, date_style=self.date_style)
        pick: random.Random | None = None
        out: list[str] = []
        for part in self.parts:
            pieces: Choice
            if isinstance(part, Spin):
                pick = pick or random.Random(f"{salt}\0{self._key}\0{debtor.pk}")
                pieces = pick.choice(part.choices)
            else:
                pieces = (part,)
            for piece in pieces:
                out.append(values.get(piece.name, "") if isinstance(piece, Field) else piece)
        return "".join(out)


class MessageVariants:
    """A campaign's texts: each debtor gets one of them, the same one every time."""

    def __init__(
        self, texts: Sequence[str], *, locale: str = DEFAULT_LOCALE, date_style: str = DATE_SHORT
    ) -> None:
        self.templates = [MessageTemplate(t, locale=locale, date_style=date_style) for t in texts]
        self._salt = hashlib.sha256("\0".join(texts).encode()).hexdigest()

    def variant_for(self, debtor: Debtor) -> int:
        """The index of the text `debtor` gets."""
        if len(self.templates) == 1:
            return 0
        digest = hashlib.blake2b(f"{self._salt}\0{debtor.pk}".encode(), digest_size=8).digest()
        return int.from_bytes(digest) % len(self.templates)

    def render(self, debtor: Debtor, variant: int) -> str:
        return self.templates[variant].render(debtor, salt=self._salt)

    def pick(self, debtor: Debtor) -> tuple[int, str]:
        """(variant index, body) for `debtor`."""
        variant = self.variant_for(debtor)
        return variant, self.render(debtor, variant)
