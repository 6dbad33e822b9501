import datetime
from collections import Counter
from decimal import Decimal

import pytest
from babel.numbers import format_currency

from campaigns.templating import (
    MAX_VARIANTS,
    MessageTemplate,
    MessageVariants,
    TemplateError,
    format_amount,
    format_due_date,
    placeholder_chips,
    template_check,
    template_placeholders,
    template_unknown_placeholders,
    variants_check,
)
from debtors.models import Debtor


def _debtor(**fields):
    values = {
        "pk": 41,
        "name": "María Gómez",
        "phone_e164": "+573001234567",
        "amount": Decimal("1500000"),
        "currency": "COP",
        "due_date": datetime.date(2026, 12, 5),
        "reference": "CR-77",
        "extra": {"sucursal": "Medellín", "cuotas": 3},
    }
    return Debtor(**{**values, **fields})


def test_it_fills_every_standard_placeholder():
    template = MessageTemplate("{name} debe {amount} al {due_date}, ref {reference} ({phone})")
    assert template.render(_debtor()) == (
        "María Gómez debe $1.500.000 al 05/12/2026, ref CR-77 (+573001234567)"
    )


def test_spanish_placeholders_fill_what_their_english_names_fill():
    spanish = MessageTemplate(
        "{nombre}|{saldo}|{monto}|{vence}|{fecha_vencimiento}|{referencia}|{telefono}|{moneda}"
    )
    english = MessageTemplate(
        "{name}|{amount}|{amount}|{due_date}|{due_date}|{reference}|{phone}|{currency}"
    )
    assert spanish.render(_debtor()) == english.render(_debtor())
    assert spanish.render(_debtor()).startswith("María Gómez|$1.500.000|")


def test_the_unknown_placeholder_check_knows_both_languages():
    template = "{nombre} {name} {saldo} {vence} {moneda} {sucursal} {deuda}"
    assert template_unknown_placeholders(template, extra_keys={"sucursal"}) == ["deuda"]


def test_the_chips_speak_the_operators_language():
    spanish = ("nombre", "saldo", "vence", "referencia", "telefono", "moneda")
    assert placeholder_chips("es") == spanish
    assert placeholder_chips("es-co") == placeholder_chips("es")
    assert placeholder_chips("en-us") == (
        "name",
        "amount",
        "due_date",
        "reference",
        "phone",
        "currency",
    )
    assert placeholder_chips(None) == placeholder_chips("en")


def test_extra_fields_fill_their_placeholders_and_missing_ones_render_empty():
    template = MessageTemplate("{sucursal}/{cuotas}/{plan}")
    assert template.render(_debtor()) == "Medellín/3/"


def test_double_braces_are_literal():
    assert MessageTemplate("{{name}} {name}").render(_debtor()) == "{name} María Gómez"


@pytest.mark.parametrize(
    "template",
    ["{name.__class__}", "{extra[0]}", "{amount:>10}", "{name!r}", "{name", "{}", "name}"],
)
def test_anything_but_plain_names_is_refused(template):
    with pytest.raises(TemplateError):
        template_placeholders(template)


def test_unknown_placeholders_are_those_no_debtor_has():
    assert template_unknown_placeholders("{name} {sucursal} {cuota}", extra_keys={"sucursal"}) == [
        "cuota"
    ]


# --- spintax -------------------------------------------------------------------------------


def test_a_spintax_group_sends_one_of_its_choices():
    template = MessageTemplate("{Hola|Buenos días|Saludos} {name}")
    bodies = {template.render(_debtor(pk=pk)) for pk in range(200)}
    assert bodies == {"Hola María Gómez", "Buenos días María Gómez", "Saludos María Gómez"}


def test_choices_may_hold_placeholders_and_literal_braces():
    template = MessageTemplate("{Hola {name}|Saldo {{{amount}}}}")
    bodies = {template.render(_debtor(pk=pk)) for pk in range(100)}
    assert bodies == {"Hola María Gómez", "Saldo {$1.500.000}"}
    assert template.placeholders == ["name", "amount"]


def test_a_choice_may_be_empty():
    template = MessageTemplate("Hola{ {name}|}.")
    assert {template.render(_debtor(pk=pk)) for pk in range(100)} == {"Hola María Gómez.", "Hola."}


def test_the_same_debtor_gets_the_same_choices_every_time():
    template = "{Hola|Buenos días|Saludos} {name}, {le recordamos|queremos recordarle} su pago"
    first = [MessageTemplate(template).render(_debtor(pk=pk)) for pk in range(50)]
    again = [MessageTemplate(template).render(_debtor(pk=pk)) for pk in range(50)]
    assert first == again
    assert len(set(first)) > 1


def test_nested_groups_are_refused_with_a_clear_message():
    with pytest.raises(TemplateError, match="cannot hold other groups"):
        template_check("{Hola|{Buenos|Buenas} días}")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{Hola|Buenos días", "never closed"),
        ("{Hola {name}|Buenos días", "never closed"),
        ("Hola} {name}", "closes nothing"),
        ("{Hola {name}}", "neither a placeholder nor a choice"),
        ("{Hola|{name.upper}}", "is not a placeholder"),
    ],
)
def test_broken_spintax_says_what_is_wrong(template, message):
    with pytest.raises(TemplateError, match=message):
        template_check(template)


# --- variants ------------------------------------------------------------------------------


def test_each_debtor_gets_one_variant_and_always_the_same():
    variants = MessageVariants(["Uno {name}", "Dos {name}", "Tres {name}"])
    picks = [variants.pick(_debtor(pk=pk)) for pk in range(600)]
    assert picks == [variants.pick(_debtor(pk=pk)) for pk in range(600)]
    for variant, body in picks:
        assert body == ["Uno", "Dos", "Tres"][variant] + " María Gómez"
    counts = Counter(variant for variant, _body in picks)
    assert set(counts) == {0, 1, 2}
    assert min(counts.values()) > 100  # spread over all of them, not one favourite


def test_a_variants_spintax_renders_as_it_will_be_sent():
    variants = MessageVariants(["{Hola|Buenas} {name}", "{Saludos|Qué tal} {name}"])
    for pk in range(30):
        debtor = _debtor(pk=pk)
        variant, body = variants.pick(debtor)
        assert variants.render(debtor, variant) == body


def test_one_variant_is_the_template_alone():
    variants = MessageVariants(["Hola {name}"])
    assert {variants.pick(_debtor(pk=pk)) for pk in range(20)} == {(0, "Hola María Gómez")}


def test_variants_are_checked_one_by_one_and_counted():
    variants_check(["Hola {name}", "{Hola|Buenas} {nombre}"])
    with pytest.raises(TemplateError, match=r"Variant 2: .*never closed"):
        variants_check(["Hola {name}", "{Hola|Buenas {nombre}"])
    with pytest.raises(TemplateError, match="at most 10 variants"):
        variants_check(["Hola"] * (MAX_VARIANTS + 1))
    with pytest.raises(TemplateError):
        variants_check([])


# --- money and dates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "currency", "locale", "expected"),
    [
        # Colombians write pesos without decimals, dots for thousands.
        ("1030000", "COP", "es_CO", "$1.030.000"),
        ("1030000.00", "COP", "es_CO", "$1.030.000"),
        ("1030000", "MXN", "es_MX", "$1,030,000.00"),
        ("1030000", "USD", "en_US", "$1,030,000.00"),
        ("1234.5", "USD", "en_US", "$1,234.50"),
        # Dollars owed by a Colombian are not pesos: the symbol says so.
        ("1030000", "USD", "es_CO", "US$1.030.000,00"),
        # A currency code is kept apart from the digits, by a non-breaking space.
        ("1030000", "COP", "en_US", "COP\xa01,030,000"),
        ("1030000", "USD", "es_MX", "USD\xa01,030,000.00"),
        ("1030000", "PEN", "es_PE", "S/\xa01,030,000.00"),
    ],
)
def test_amounts_are_written_as_the_campaigns_country_writes_money(
    amount, currency, locale, expected
):
    assert format_amount(Decimal(amount), currency, locale=locale) == expected


def test_an_amount_without_currency_is_a_plain_number():
    assert format_amount(Decimal("1030000.5"), "", locale="es_CO") == "1.030.000,5"


@pytest.mark.parametrize(
    ("locale", "style", "expected"),
    [
        ("es_CO", "long", "15 de diciembre de 2026"),
        ("es_MX", "long", "15 de diciembre de 2026"),
        ("en_US", "long", "December 15, 2026"),
        ("es_CO", "short", "15/12/2026"),
        ("es_MX", "short", "15/12/2026"),
        ("es_CL", "short", "15-12-2026"),
        ("en_US", "short", "12/15/2026"),
    ],
)
def test_due_dates_follow_the_locale_and_style(locale, style, expected):
    assert format_due_date(datetime.date(2026, 12, 15), locale=locale, style=style) == expected


def test_short_dates_pad_day_and_month_and_keep_the_whole_year():
    assert format_due_date(datetime.date(2026, 3, 5), locale="es_CO", style="short") == "05/03/2026"


def test_a_template_renders_money_and_dates_in_its_locale():
    template = MessageTemplate("{nombre}: {saldo} vence {vence}", locale="es_MX", date_style="long")
    debtor = _debtor(currency="MXN", amount=Decimal("1030000"))
    assert template.render(debtor) == "María Gómez: $1,030,000.00 vence 5 de diciembre de 2026"


def test_a_debtor_without_due_date_renders_it_empty():
    assert MessageTemplate("[{vence}]").render(_debtor(due_date=None)) == "[]"


@pytest.mark.parametrize("locale", ["es_CO", "es_MX", "es_PE", "es_CL", "es_EC", "es_US", "en_US"])
@pytest.mark.parametrize("currency", ["COP", "MXN", "USD", "PEN", "CLP", "EUR"])
def test_the_learnt_money_layout_writes_what_babel_writes(locale, currency):
    amounts = ["0", "0.5", "2.5", "0.125", "999", "1234", "1030000.5", "99999999999.99", "-1500"]
    for amount in map(Decimal, amounts):
        # Babel glues a currency code to the digits; format_amount spaces it (tested above).
        expected = format_currency(amount, currency, locale=locale)
        assert format_amount(amount, currency, locale=locale).replace("\xa0", "") == (
            expected.replace("\xa0", "")
        ), amount
