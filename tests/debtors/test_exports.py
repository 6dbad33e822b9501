import codecs
import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.utils import timezone, translation
from openpyxl import load_workbook

from campaigns.models import MessageStatus
from debtors.exports import DEBTOR_EXPORT_HEADER, debtor_export_response
from debtors.models import Debtor, DebtorStatus, Disposition, DispositionKind
from debtors.services import debtor_disposition_record
from tests.factories import DebtorFactory, replied_message
from whatsmassive.exports import CSV_FORMATS

pytestmark = pytest.mark.django_db


def _rows(response):
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, *rows = csv.reader(io.StringIO(text))
    return [dict(zip(header, row, strict=True)) for row in rows]


def test_debtors_export_their_latest_reply_and_current_disposition(supervisor):
    promised = DebtorFactory(name="A promised", reference="REF-1", amount=Decimal("90000"))
    earlier = timezone.now() - datetime.timedelta(days=2)
    replied_message(
        debtor=promised, status=MessageStatus.READ, reply_text="Luego", replied_at=earlier
    )
    replied_message(
        debtor=promised,
        status=MessageStatus.READ,
        reply_text="Pago el 20",
        replied_at=timezone.now(),
    )
    due = timezone.localdate() + datetime.timedelta(days=5)
    promise = debtor_disposition_record(
        debtor=promised, kind="promise", amount=Decimal("45000"), date=due, by=None
    )
    Disposition.objects.filter(pk=promise.pk).update(broken_on=timezone.localdate())
    calling = DebtorFactory(name="B calls back")
    debtor_disposition_record(debtor=calling, kind="call_back", date=due, by=None)
    DebtorFactory(name="C untouched")

    response = debtor_export_response(
        debtors=Debtor.objects.all(), fmt="csv", filename="d.csv", filters={}, by=supervisor
    )
    rows = _rows(response)
    assert list(rows[0]) == DEBTOR_EXPORT_HEADER
    first, second, third = rows
    assert (first["reference"], first["amount"], first["last_reply"]) == (
        "REF-1",
        "90000.00",
        "Pago el 20",
    )
    assert first["last_reply_at"] != ""
    assert (first["disposition"], first["promise_amount"], first["promise_date"]) == (
        "promise to pay",
        "45000.00",
        due.isoformat(),
    )
    assert (first["promise_broken"], first["call_back_on"]) == ("yes", "")
    assert (second["disposition"], second["promise_amount"], second["call_back_on"]) == (
        "call back",
        "",
        due.isoformat(),
    )
    assert (third["last_reply"], third["disposition"], third["promise_broken"]) == ("", "", "")


def test_the_export_reads_replies_and_dispositions_without_a_query_per_row(
    supervisor, django_assert_max_num_queries
):
    for debtor in DebtorFactory.create_batch(30):
        replied_message(debtor=debtor, reply_text="Hola", replied_at=timezone.now())
        debtor_disposition_record(debtor=debtor, kind="no_answer", by=None)
    response = debtor_export_response(
        debtors=Debtor.objects.all(), fmt="csv", filename="d.csv", filters={}, by=supervisor
    )
    with django_assert_max_num_queries(3):
        assert len(_rows(response)) == 30


def test_a_spanish_export_has_spanish_headers_labels_and_decimal_commas(
    supervisor, spanish_catalog
):
    spanish_catalog(
        {
            "name": "nombre",
            "amount": "monto",
            "status": "estado",
            "disposition": "gestión",
            "promise_amount": "monto_prometido",
            "promise to pay": "promesa de pago",
            "not contacted": "sin contactar",
        }
    )
    debtor = DebtorFactory(name="José Peña", amount=Decimal("1030000.50"))
    due = timezone.localdate() + datetime.timedelta(days=5)
    debtor_disposition_record(
        debtor=debtor, kind="promise", amount=Decimal("45000.25"), date=due, by=None
    )
    with translation.override("es"):
        response = debtor_export_response(
            debtors=Debtor.objects.all(),
            fmt="csv",
            filename="d.csv",
            filters={},
            by=supervisor,
            csv_format=CSV_FORMATS["semicolon"],
        )
        # What the label reads in Spanish once the choices are marked for translation.
        promise = str(DispositionKind.PROMISE.label)
        new = str(DebtorStatus.NEW.label)
    content = b"".join(response.streaming_content)
    assert content.startswith(codecs.BOM_UTF8)
    (row,) = csv.DictReader(io.StringIO(content.decode("utf-8-sig")), delimiter=";")
    assert (row["nombre"], row["monto"], row["estado"]) == ("José Peña", "1030000,50", new)
    assert (row["gestión"], row["monto_prometido"]) == (promise, "45000,25")


def test_an_xlsx_export_has_the_headers_of_the_active_language(supervisor, spanish_catalog):
    spanish_catalog({"name": "nombre", "amount": "monto"})
    DebtorFactory(name="Ana", amount=Decimal("10.50"))
    with translation.override("es"):
        response = debtor_export_response(
            debtors=Debtor.objects.all(), fmt="xlsx", filename="d.xlsx", filters={}, by=supervisor
        )
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    header, row = sheet.iter_rows(values_only=True)
    assert header[:3] == ("nombre", "phone", "monto")
    assert (row[0], row[2]) == ("Ana", Decimal("10.50"))
