"""Campaign message templates: `{name}`-style placeholders filled from a debtor.

Only plain names are allowed between braces: `{name.__class__}` or `{extra[0]}` would let
a template reach into Python objects, so they are syntax errors here. `{{` and `}}` write
literal braces.
"""

from collections.abc import Iterable
from decimal import Decimal
from string import Formatter

from django.utils.formats import number_format
from django.utils.translation import gettext

from debtors.models import Debtor

BASE_PLACEHOLDERS = ("name", "amount", "due_date", "reference", "phone", "currency")


class TemplateError(ValueError):
    """The template cannot be rendered; the message says why, for the operator."""


# Longer texts made messages WhatsApp cuts or refuses (a debtor's fields only add to it).
TEMPLATE_MAX_CHARS = 4000


def template_check(template: str) -> None:
    """Raise TemplateError unless `template` is short enough and its placeholders are plain."""
    if len(template) > TEMPLATE_MAX_CHARS:
        raise TemplateError(
            gettext(
                "The message text has %(length)s characters; "
                "the most a campaign may send is %(max)s."
            )
            % {
                "length": number_format(len(template), force_grouping=True),
                "max": number_format(TEMPLATE_MAX_CHARS, force_grouping=True),
            }
        )
    template_placeholders(template)


def template_placeholders(template: str) -> list[str]:
    """The placeholder names in `template`, in order of first appearance."""
    names: list[str] = []
    try:
        parsed = list(Formatter().parse(template))
    except ValueError as exc:
        raise TemplateError(
            gettext("The template has unbalanced braces: %(error)s.") % {"error": exc}
        ) from exc
    for _literal, field, spec, conversion in parsed:
        if field is None:
            continue
        if not field.isidentifier() or spec or conversion:
            raise TemplateError(
                gettext(
                    "“%(field)s” is not a placeholder: use plain names like {name} or {amount}."
                )
                % {"field": f"{{{field}}}"}
            )
        if field not in names:
            names.append(field)
    return names


def template_unknown_placeholders(template: str, *, extra_keys: Iterable[str]) -> list[str]:
    known = set(BASE_PLACEHOLDERS) | set(extra_keys)
    return [name for name in template_placeholders(template) if name not in known]


def format_amount(amount: Decimal, currency: str) -> str:
    whole = amount == amount.to_integral_value()
    number = f"{amount:,.0f}" if whole else f"{amount:,.2f}"
    return f"{number} {currency}".strip()


def debtor_values(debtor: Debtor) -> dict[str, str]:
    values = {str(key): "" if value is None else str(value) for key, value in debtor.extra.items()}
    values.update(
        name=debtor.name,
        amount=format_amount(debtor.amount, debtor.currency),
        due_date=debtor.due_date.strftime("%d/%m/%Y") if debtor.due_date else "",
        reference=debtor.reference,
        phone=debtor.phone_e164,
        currency=debtor.currency,
    )
    return values


class MessageTemplate:
    """A template parsed once, rendered for many debtors."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.placeholders = template_placeholders(text)

    def render(self, debtor: Debtor) -> str:
        """The message for `debtor`; an extra field this debtor lacks renders empty."""
        values = debtor_values(debtor)
        return self.text.format_map({name: values.get(name, "") for name in self.placeholders})
