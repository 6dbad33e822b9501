from decimal import Decimal

import pytest
from django.template import Context, Template
from django.utils import translation

from campaigns.templatetags.money import page_locale


@pytest.mark.parametrize(
    ("language", "region", "locale"),
    [("es", "CO", "es_CO"), ("es-mx", "CO", "es_CO"), ("es", "MX", "es_MX"), ("en", "CO", "en_US")],
)
def test_a_page_writes_money_as_its_language_in_the_products_country(
    settings, language, region, locale
):
    settings.DEFAULT_PHONE_REGION = region
    assert page_locale(language) == locale


@pytest.mark.parametrize(
    ("language", "currency", "written"),
    [
        ("es", "COP", "$8.728.000"),
        ("es", "USD", "US$1.250,50"),
        ("en", "USD", "$1,250.50"),
        ("en", "COP", "COP\xa08,728,000"),
    ],
)
def test_the_money_filter_writes_the_amount_for_the_reader(language, currency, written):
    amount = Decimal("8728000") if currency == "COP" else Decimal("1250.50")
    with translation.override(language):
        rendered = Template("{% load money %}{{ amount|money:currency }}").render(
            Context({"amount": amount, "currency": currency})
        )
    assert rendered == written


def test_no_amount_writes_nothing():
    assert Template("{% load money %}{{ none|money:'COP' }}").render(Context({"none": None})) == ""
