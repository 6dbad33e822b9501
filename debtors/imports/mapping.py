"""Which column feeds which debtor field, guessed from English and Spanish headers."""

from dataclasses import dataclass

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from debtors.imports.values import header_key

EXTRA = "extra"
IGNORE = "ignore"
FIELDS = {
    "name": _("Name"),
    "phone": _("Phone"),
    "amount": _("Amount"),
    "currency": _("Currency"),
    "due_date": _("Due date"),
    "reference": _("Reference"),
    "time_zone": _("Time zone"),
}
TARGET_CHOICES = [*FIELDS.items(), (EXTRA, _("Extra field")), (IGNORE, _("Ignore"))]

# Header keys (see header_key) that name each field, most specific first.
_SYNONYMS = {
    # Mobile and WhatsApp columns first: a file may also carry a landline.
    "phone": (
        "whatsapp",
        "celular",
        "numero_celular",
        "movil",
        "mobile",
        "cel",
        "cell",
        "phone",
        "phone_number",
        "telefono",
        "numero_de_telefono",
        "tel",
        "numero",
    ),
    "name": ("name", "full_name", "nombre", "nombres", "nombre_completo", "cliente", "deudor"),
    "amount": ("amount", "amount_due", "balance", "monto", "deuda", "saldo", "valor", "total"),
    "currency": ("currency", "moneda", "divisa"),
    "due_date": (
        "due_date",
        "due",
        "date",
        "fecha",
        "fecha_vencimiento",
        "fecha_de_vencimiento",
        "vencimiento",
        "vence",
        "fecha_limite",
        "due_by",
    ),
    "reference": ("reference", "ref", "referencia", "obligacion", "contrato", "account"),
    "time_zone": ("time_zone", "timezone", "tz", "zona_horaria", "huso_horario"),
}
# Words that, inside a longer header, still identify the field ("Teléfono celular").
_WORDS = {
    "phone": ("phone", "telefono", "celular", "whatsapp", "movil", "mobile"),
    "name": ("name", "nombre"),
    "amount": ("amount", "monto", "deuda", "saldo"),
    "due_date": ("fecha", "date", "vencimiento", "vence"),
    "reference": ("reference", "referencia"),
}


@dataclass(frozen=True)
class Mapping:
    headers: list[str]
    targets: list[str]  # one per column: a FIELDS key, EXTRA or IGNORE

    def column(self, field: str) -> int | None:
        return self.targets.index(field) if field in self.targets else None

    def extra_columns(self) -> list[tuple[int, str]]:
        """(column, key) for columns kept as extra fields, keyed for template placeholders."""
        columns = []
        for index, (header, target) in enumerate(zip(self.headers, self.targets, strict=True)):
            if target == EXTRA:
                columns.append((index, header_key(header) or f"column_{index + 1}"))
        return columns

    def errors(self) -> list[str]:
        problems = []
        if "phone" not in self.targets:
            problems.append(
                gettext("No column is mapped to the phone: map one, nothing can be imported.")
            )
        for field, label in FIELDS.items():
            if self.targets.count(field) > 1:
                problems.append(
                    gettext("%(field)s is mapped to more than one column.") % {"field": label}
                )
        return problems

    def as_json(self) -> dict[str, list[str]]:
        return {"headers": self.headers, "targets": self.targets}

    @classmethod
    def from_json(cls, data: dict[str, list[str]]) -> "Mapping":
        return cls(headers=list(data["headers"]), targets=list(data["targets"]))


def guess_mapping(headers: list[str]) -> Mapping:
    """Exact synonyms first, then words inside headers; the rest become extra fields."""
    keys = [header_key(header) for header in headers]
    targets = [EXTRA if key else IGNORE for key in keys]
    taken: set[str] = set()
    for field, synonyms in _SYNONYMS.items():
        for synonym in synonyms:
            if synonym in keys and field not in taken and targets[keys.index(synonym)] in {EXTRA}:
                targets[keys.index(synonym)] = field
                taken.add(field)
    for field, words in _WORDS.items():
        if field in taken:
            continue
        for index, key in enumerate(keys):
            if targets[index] == EXTRA and any(word in key.split("_") for word in words):
                targets[index] = field
                taken.add(field)
                break
    return Mapping(headers=headers, targets=targets)
