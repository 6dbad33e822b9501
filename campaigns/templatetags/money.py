"""`{{ amount|money:currency }}`: an amount on a page, written as the reader's language and
the product's country write money (es with DEFAULT_PHONE_REGION CO: $1.030.000), the same
formatter the messages use."""

from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.core import get_global
from django import template
from django.conf import settings
from django.utils.translation import get_language

from campaigns.templating import format_amount

register = template.Library()


def page_locale(language: str | None) -> str:
    """The CLDR locale for a page in `language`: its variant in the product's country when
    CLDR has one (es_CO), else the language's own (en_US for en)."""
    base = (language or settings.LANGUAGE_CODE).split("-")[0]
    try:
        return str(Locale.parse(f"{base}_{settings.DEFAULT_PHONE_REGION}"))
    except UnknownLocaleError:
        likely = Locale.parse(get_global("likely_subtags").get(base, base))
        return f"{likely.language}_{likely.territory}"


@register.filter
def money(amount: Decimal | None, currency: str) -> str:
    if amount is None:
        return ""
    return format_amount(amount, currency, locale=page_locale(get_language()))
