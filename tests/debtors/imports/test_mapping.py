import pytest

from debtors.imports.mapping import Mapping, guess_mapping


@pytest.mark.parametrize(
    ("headers", "targets"),
    [
        (
            ["Name", "Phone", "Amount", "Due date", "Reference"],
            ["name", "phone", "amount", "due_date", "reference"],
        ),
        (
            ["NOMBRE", "Teléfono celular", "Deuda total", "Fecha de vencimiento", "Referencia"],
            ["name", "phone", "amount", "due_date", "reference"],
        ),
        (
            ["Cliente", "WhatsApp", "Saldo", "Fecha", "Moneda", "Ciudad", ""],
            ["name", "phone", "amount", "due_date", "currency", "extra", "ignore"],
        ),
        (
            ["Nombre", "Celular", "Saldo", "Vence", "Referencia"],
            ["name", "phone", "amount", "due_date", "reference"],
        ),
        (
            ["Fecha de pago", "Fecha de vencimiento", "celular", "Tel"],
            ["extra", "due_date", "phone", "extra"],
        ),
    ],
)
def test_columns_are_guessed_from_english_and_spanish_headers(headers, targets):
    assert guess_mapping(headers).targets == targets


def test_extra_columns_are_keyed_for_templates():
    mapping = guess_mapping(["Celular", "Ciudad de Residencia", "Asesor", ""])
    assert mapping.extra_columns() == [(1, "ciudad_de_residencia"), (2, "asesor")]


def test_a_mapping_needs_one_phone_and_each_field_once():
    assert Mapping(headers=["a", "b"], targets=["name", "extra"]).errors() == [
        "No column is mapped to the phone: map one, nothing can be imported."
    ]
    assert Mapping(headers=["a", "b", "c"], targets=["phone", "name", "name"]).errors() == [
        "Name is mapped to more than one column."
    ]


@pytest.mark.parametrize("header", ["Time zone", "Timezone", "Zona horaria", "TZ"])
def test_a_time_zone_column_is_recognised(header):
    assert guess_mapping(["Nombre", "Celular", header]).targets == ["name", "phone", "time_zone"]
