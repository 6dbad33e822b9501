import datetime
from decimal import Decimal

import pytest

from campaigns.templating import (
    MessageTemplate,
    TemplateError,
    format_amount,
    template_placeholders,
    template_unknown_placeholders,
)
from debtors.models import Debtor


def _debtor(**fields):
    values = {
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
        "María Gómez debe 1,500,000 COP al 05/12/2026, ref CR-77 (+573001234567)"
    )


def test_extra_fields_fill_their_placeholders_and_missing_ones_render_empty():
    template = MessageTemplate("{sucursal}/{cuotas}/{plan}")
    assert template.render(_debtor()) == "Medellín/3/"


def test_double_braces_are_literal():
    assert MessageTemplate("{{name}} {name}").render(_debtor()) == "{name} María Gómez"


@pytest.mark.parametrize(
    "template",
    ["{name.__class__}", "{extra[0]}", "{amount:>10}", "{name!r}", "{name", "{}"],
)
def test_anything_but_plain_names_is_refused(template):
    with pytest.raises(TemplateError):
        template_placeholders(template)


def test_unknown_placeholders_are_those_no_debtor_has():
    assert template_unknown_placeholders("{name} {sucursal} {saldo}", extra_keys={"sucursal"}) == [
        "saldo"
    ]


def test_amounts_show_cents_only_when_there_are_some():
    assert format_amount(Decimal("1234.00"), "COP") == "1,234 COP"
    assert format_amount(Decimal("1234.5"), "USD") == "1,234.50 USD"
