import csv
import datetime
import io
import json
import os
import threading
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from campaigns.models import MessageStatus
from debtors import views
from debtors.imports.services import debtor_import_prepare, debtor_import_run
from debtors.models import (
    Debtor,
    DebtorImport,
    Disposition,
    DispositionKind,
    DoNotContact,
    ImportStatus,
    OptOutSource,
)
from debtors.services import debtor_disposition_record
from debtors.tasks import debtor_import_run_task
from tests.conftest import role_user
from tests.debtors.imports.conftest import sheet_xml, write_sheet
from tests.factories import (
    CampaignFactory,
    ConversationFactory,
    DebtorFactory,
    IncomingMessageFactory,
    MessageFactory,
    WhatsAppSessionFactory,
)
from whatsmassive import roles

pytestmark = pytest.mark.django_db

CSV = "name,phone,amount,ciudad\nAna,3001234567,100,Cali\nBea,12,5,Bogotá\n"


@pytest.fixture(autouse=True)
def media_root(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"


def _upload(client, content=CSV, name="lista.csv", follow=False, prepare=True):
    data = {"file": SimpleUploadedFile(name, content.encode()), "region": "CO"}
    response = client.post(reverse("debtor_import_new"), data, follow=follow)
    if prepare and DebtorImport.objects.exists():
        # What the worker does once the upload commits (tests/debtors/test_tasks.py runs it
        # on a real worker).
        debtor_import_prepare(debtor_import_id=DebtorImport.objects.latest("pk").pk)
    return response


def test_the_mapping_step_says_preparing_and_polls_until_the_worker_has_read_the_file(
    client, operator
):
    client.force_login(operator)
    response = _upload(client, prepare=False)
    debtor_import = DebtorImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("debtor_import_detail", args=[debtor_import.pk])
    text = client.get(response["Location"]).content.decode()
    assert "Preparing the preview" in text
    assert 'hx-trigger="every 1s"' in text
    polled = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert polled.lstrip().startswith('<section id="import-preparing"')

    debtor_import_prepare(debtor_import_id=debtor_import.pk)
    polled = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert polled.lstrip().startswith('<form id="import-mapping"')
    assert "encoding <strong>utf-8</strong>" in polled
    assert '<option value="phone" selected>' in polled
    assert "Bogotá" in polled  # preview row


def test_the_mapping_page_reads_the_stored_preview_not_the_file(client, operator):
    client.force_login(operator)
    _upload(client)
    debtor_import = DebtorImport.objects.get()
    Path(debtor_import.file.path).unlink()
    text = client.get(reverse("debtor_import_detail", args=[debtor_import.pk])).content.decode()
    assert "Bogotá" in text


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _memory_while(call):
    """(result, Python heap peak, resident set growth) while `call` runs; the resident set is
    sampled every 2 ms, so memory taken outside Python (a Rust reader) shows too."""
    baseline = _rss_bytes()
    peak_rss = baseline
    done = threading.Event()

    def sample():
        nonlocal peak_rss
        while not done.is_set():
            peak_rss = max(peak_rss, _rss_bytes())
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    tracemalloc.start()
    try:
        result = call()
    finally:
        _current, peak_heap = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        done.set()
        sampler.join()
    return result, peak_heap, peak_rss - baseline


MB = 1024 * 1024


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_uploading_a_big_file_keeps_the_web_process_memory_flat(operator, tmp_path, kind):
    rows = 200_000
    if kind == "csv":
        lines = "".join(f"Deudor {n},310{n:07d},{n}.50,Bogotá\n" for n in range(rows))
        content = ("nombre,celular,monto,ciudad\n" + lines).encode()
    else:
        cells = "".join(
            f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>Deudor {n}</t></is></c>'
            f'<c r="B{n}"><v>{3100000000 + n}</v></c><c r="C{n}"><v>{n}.5</v></c></row>'
            for n in range(2, rows + 2)
        )
        header = '<row r="1"><c r="A1" t="inlineStr"><is><t>nombre</t></is></c></row>'
        xml = sheet_xml(0, dimension=None).replace("<sheetData>", "<sheetData>" + header + cells)
        content = write_sheet(tmp_path / "big.xlsx", xml).read_bytes()
    assert len(content) > 3 * MB  # holding its rows as Python lists would take 50 MB and more
    request = RequestFactory().post(
        reverse("debtor_import_new"),
        {"file": SimpleUploadedFile(f"big.{kind}", content), "region": "CO"},
    )
    request.user = operator
    response, peak_heap, rss_growth = _memory_while(lambda: views.debtor_import_new(request))
    assert response.status_code == 302, response.content.decode()[:2000]
    debtor_import = DebtorImport.objects.get()
    assert (debtor_import.format, debtor_import.rows_total) == (kind, rows)
    assert debtor_import.preview is None  # the rows are read by the worker, not here
    # The CSV streams through 1 MB chunks; the XLSX (34 MB of sheet XML) through its
    # decompressed chunks: both far below the file, let alone its rows.
    assert peak_heap < (8 * MB if kind == "csv" else 12 * MB)
    assert rss_growth < 24 * MB


@override_settings(IMPORT_MAX_ROWS=100)
def test_a_file_over_the_row_cap_is_refused_on_the_upload_form(client, operator):
    client.force_login(operator)
    lines = "".join(f"Deudor {n},310{n:07d},1\n" for n in range(101))
    response = _upload(client, content="nombre,celular,monto\n" + lines)
    assert response.status_code == 200
    assert "The file has 101 rows; the limit is 100" in response.content.decode()
    assert not DebtorImport.objects.exists()
    assert not any(path.is_file() for path in Path(settings.MEDIA_ROOT).rglob("*"))


def test_a_macro_enabled_workbook_is_refused_on_the_upload_form(client, operator):
    client.force_login(operator)
    response = _upload(client, name="cartera.xlsm")
    assert "can hold macros" in response.content.decode()
    assert not DebtorImport.objects.exists()


@override_settings(IMPORT_MAX_BYTES=10)
def test_an_oversize_upload_is_refused_by_the_form(client, operator):
    client.force_login(operator)
    response = _upload(client)
    assert response.status_code == 200
    assert "the limit is 10\xa0bytes" in response.content.decode()
    assert not DebtorImport.objects.exists()


def test_a_file_without_a_header_row_is_refused_on_the_form(client, operator):
    client.force_login(operator)
    response = _upload(client, content="\n\n")
    assert "no header row" in response.content.decode()
    assert not DebtorImport.objects.exists()


def _mapping_post(debtor_import, **overrides):
    data = {f"column_{i}": t for i, t in enumerate(debtor_import.mapping["targets"])}
    data.update(overrides)
    return data


def test_starting_returns_the_progress_partial_that_polls(
    client, operator, django_capture_on_commit_callbacks
):
    client.force_login(operator)
    _upload(client)
    debtor_import = DebtorImport.objects.get()
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post(
            reverse("debtor_import_start", args=[debtor_import.pk]),
            _mapping_post(debtor_import),
            HTTP_HX_REQUEST="true",
        )
    assert len(callbacks) == 1  # the Celery task is queued after commit
    text = response.content.decode()
    assert text.lstrip().startswith('<section id="import-progress"')
    assert 'hx-trigger="every 1s"' in text
    assert "Waiting for a worker" in text

    debtor_import_run(debtor_import_id=debtor_import.pk)
    polled = client.get(
        reverse("debtor_import_detail", args=[debtor_import.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert polled.lstrip().startswith('<section id="import-progress"')
    assert "hx-trigger" not in polled  # polling stops once the import is done
    assert "Import finished" in polled
    assert reverse("debtor_import_errors", args=[debtor_import.pk]) in polled


def test_a_mapping_without_phone_re_renders_the_form_with_the_error(client, operator):
    client.force_login(operator)
    _upload(client)
    debtor_import = DebtorImport.objects.get()
    response = client.post(
        reverse("debtor_import_start", args=[debtor_import.pk]),
        _mapping_post(debtor_import, column_1="extra"),
        HTTP_HX_REQUEST="true",
    )
    text = response.content.decode()
    assert text.lstrip().startswith('<form id="import-mapping"')
    assert "No column is mapped to the phone" in text
    debtor_import.refresh_from_db()
    assert debtor_import.submitted_at is None


def test_the_error_report_downloads_for_its_owner_only(client, operator):
    client.force_login(operator)
    _upload(client)
    debtor_import = DebtorImport.objects.get()
    client.post(
        reverse("debtor_import_start", args=[debtor_import.pk]), _mapping_post(debtor_import)
    )
    debtor_import_run(debtor_import_id=debtor_import.pk)
    url = reverse("debtor_import_errors", args=[debtor_import.pk])
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Disposition"] == 'attachment; filename="lista-errors.csv"'
    content = b"".join(response.streaming_content).decode()
    assert not content.startswith("\ufeff")  # English writes 1,234.56: a plain CSV
    rows = list(csv.reader(io.StringIO(content)))
    assert rows == [
        ["row", "name", "column", "value", "reason"],
        ["3", "Bea", "phone", "12", "not a phone number"],
    ]

    client.force_login(role_user(roles.OPERATOR))
    assert client.get(url).status_code == 404
    client.logout()
    assert client.get(url).status_code == 302  # to the login page


def test_the_error_report_follows_the_decimal_mark_of_the_active_language(
    client, operator, spanish_catalog
):
    spanish_catalog(
        {"row": "fila", "name": "nombre", "column": "columna", "value": "valor", "reason": "motivo"}
    )
    client.force_login(operator)
    _upload(client)
    debtor_import = DebtorImport.objects.get()
    client.post(
        reverse("debtor_import_start", args=[debtor_import.pk]), _mapping_post(debtor_import)
    )
    debtor_import_run(debtor_import_id=debtor_import.pk)
    # Spanish writes 1.234,56: Excel there splits on `;`.
    response = client.get(
        reverse("debtor_import_errors", args=[debtor_import.pk]), HTTP_ACCEPT_LANGUAGE="es"
    )
    lines = b"".join(response.streaming_content).decode().splitlines()
    # The run was English (no language handed over): only the header follows the reader.
    assert lines == ["\ufefffila;nombre;columna;valor;motivo", "3;Bea;phone;12;not a phone number"]


def test_the_error_report_is_written_in_the_language_of_whoever_started_the_import(
    client, operator, spanish_catalog, django_capture_on_commit_callbacks
):
    spanish_catalog(
        {"row": "fila", "name": "nombre", "column": "columna", "value": "valor", "reason": "motivo"}
    )
    client.force_login(operator)
    _upload(client)
    debtor_import = DebtorImport.objects.get()
    with translation.override("es"), django_capture_on_commit_callbacks() as callbacks:
        client.post(
            reverse("debtor_import_start", args=[debtor_import.pk]),
            _mapping_post(debtor_import),
            HTTP_ACCEPT_LANGUAGE="es-CO",
        )
    (queued,) = callbacks
    assert queued.args == (debtor_import.pk, "es")  # the worker is handed the language
    debtor_import_run_task(*queued.args)  # what the worker runs, in English by default
    debtor_import.refresh_from_db()
    with debtor_import.error_report.open("rb") as stored:
        assert stored.read().decode().splitlines()[0] == "fila,nombre,columna,valor,motivo"

    # A colleague reading it in English gets the header in English, a plain CSV.
    response = client.get(
        reverse("debtor_import_errors", args=[debtor_import.pk]), HTTP_ACCEPT_LANGUAGE="en"
    )
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0] == ["row", "name", "column", "value", "reason"]
    assert rows[1][:4] == ["3", "Bea", "phone", "12"]


def test_the_error_report_download_offers_the_layout_choice(client, operator):
    client.force_login(operator)
    _upload(client)
    debtor_import = DebtorImport.objects.get()
    client.post(
        reverse("debtor_import_start", args=[debtor_import.pk]), _mapping_post(debtor_import)
    )
    debtor_import_run(debtor_import_id=debtor_import.pk)
    page = client.get(reverse("debtor_import_detail", args=[debtor_import.pk])).content.decode()
    assert '<option value="comma" selected>' in page
    url = reverse("debtor_import_errors", args=[debtor_import.pk])
    response = client.get(url, {"csv": "semicolon"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0] == "\ufeffrow;name;column;value;reason"
    page = client.get(reverse("debtor_import_detail", args=[debtor_import.pk])).content.decode()
    assert '<option value="semicolon" selected>' in page


def test_the_result_page_shows_the_first_rejected_rows(client, operator):
    client.force_login(operator)
    bad = "".join(f"Malo {n},12{n},5,Cali\n" for n in range(15))
    _upload(client, content=CSV + bad)
    debtor_import = DebtorImport.objects.get()
    client.post(
        reverse("debtor_import_start", args=[debtor_import.pk]), _mapping_post(debtor_import)
    )
    debtor_import_run(debtor_import_id=debtor_import.pk)
    text = client.get(
        reverse("debtor_import_detail", args=[debtor_import.pk]), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert "First rows not imported" in text
    assert "<td>Bea</td><td>phone</td><td>12</td><td>not a phone number</td>" in text
    assert "Malo 8" in text
    assert "Malo 9" not in text  # ten rows on screen, the rest in the report


def test_deleting_an_import_in_the_admin_deletes_its_files(
    client, staff_user, django_capture_on_commit_callbacks
):
    client.force_login(staff_user)
    _upload(client)
    debtor_import = DebtorImport.objects.get()
    stored = Path(debtor_import.file.path)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:debtors_debtorimport_delete", args=[debtor_import.pk]),
            {"post": "yes"},
        )
    assert response.status_code == 302
    assert not DebtorImport.objects.exists()
    assert not stored.exists()


def test_a_failed_import_says_nothing_was_imported(client, operator):
    debtor_import = DebtorImport.objects.create(
        original_filename="x.csv",
        format="csv",
        region="CO",
        status=ImportStatus.FAILED,
        error_message="The file is empty.",
        created_by=operator,
    )
    client.force_login(operator)
    debtor_import.submitted_at = debtor_import.created_at
    debtor_import.save()
    text = client.get(reverse("debtor_import_detail", args=[debtor_import.pk])).content.decode()
    assert "The file is empty. Nothing was imported." in text
    assert 'hx-trigger="every' not in text  # a finished import is not polled


def test_hostile_names_are_escaped_on_the_list(client, operator):
    DebtorFactory(name="<script>alert(1)</script>")
    client.force_login(operator)
    text = client.get(reverse("debtor_list")).content.decode()
    assert "<script>alert(1)</script>" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def test_the_list_filters_by_search_status_and_amount(client, operator):
    DebtorFactory(name="Lucía Restrepo", phone_e164="+573001112233", amount=Decimal("10"))
    DebtorFactory(
        name="Luis Gómez", phone_e164="+573005556677", amount=Decimal("500"), status="read"
    )
    DebtorFactory(name="Iván Peña", phone_e164="+573009998877", reference="CR-2")
    client.force_login(operator)

    def names(**params):
        response = client.get(reverse("debtor_list"), params, HTTP_HX_REQUEST="true")
        return {d.name for d in response.context["page"].debtors}

    assert names(q="lu") == {"Lucía Restrepo", "Luis Gómez"}
    assert names(q="300 111 2233") == {"Lucía Restrepo"}
    assert names(q="CR-2") == {"Iván Peña"}
    assert names(status="read") == {"Luis Gómez"}
    assert names(amount_min="100", amount_max="1000") == {"Luis Gómez"}


def test_keyset_pages_walk_the_whole_list_once(client, operator):
    for n in range(7):
        DebtorFactory(name=f"Same name {n % 2}")
    client.force_login(operator)
    from debtors import selectors

    seen = []
    cursor = ""
    pages = 0
    while True:
        page = selectors.debtor_page(debtors=Debtor.objects.all(), cursor=cursor, size=3)
        seen += [d.pk for d in page.debtors]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert seen == list(Debtor.objects.order_by("name", "id").values_list("pk", flat=True))

    text = client.get(reverse("debtor_list"), {"after": "garbage"}).content.decode()
    assert "Same name 0" in text  # a broken cursor shows the first page


def test_bulk_opt_out_marks_the_selected_debtors(client, operator):
    chosen, other = DebtorFactory(), DebtorFactory()
    client.force_login(operator)
    response = client.post(
        reverse("debtor_bulk_opt_out"), {"ids": [chosen.pk], "query": "status=new"}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("debtor_list") + "?status=new"
    chosen.refresh_from_db()
    other.refresh_from_db()
    assert chosen.opted_out
    assert not other.opted_out


def test_the_debtor_export_follows_the_filters_and_escapes_formulas(client, supervisor):
    DebtorFactory(name='=HYPERLINK("http://evil")', phone_e164="+573001112233", status="read")
    DebtorFactory(name="Not exported", status="new")
    client.force_login(supervisor)
    response = client.get(reverse("debtor_export", args=["csv"]), {"status": "read"})
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:2] == ["name", "phone"]
    assert rows[1][:2] == ['\'=HYPERLINK("http://evil")', "+573001112233"]
    assert len(rows) == 2

    response = client.get(reverse("debtor_export", args=["xlsx"]), {"status": "read"})
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    name, phone = sheet["A2"], sheet["B2"]
    assert (name.value, name.data_type) == ('\'=HYPERLINK("http://evil")', "s")
    assert (phone.value, phone.data_type) == ("+573001112233", "s")


def test_the_admin_changelist_links_to_the_import_wizard(client, staff_user):
    client.force_login(staff_user)
    text = client.get(reverse("admin:debtors_debtor_changelist")).content.decode()
    assert reverse("debtor_import_new") in text
    assert client.get(reverse("admin:debtors_debtorimport_changelist")).status_code == 200


@override_settings(IMPORT_MAX_BYTES=10)
def test_an_upload_declared_far_over_the_limit_is_refused_before_it_is_read(client, operator):
    client.force_login(operator)
    response = _upload(client, content="name,phone\n" + "Ana,3001234567\n" * 10_000, follow=True)
    assert response.redirect_chain == [(reverse("debtor_import_new"), 302)]
    assert "larger than the 10\xa0bytes limit" in response.content.decode()
    assert not DebtorImport.objects.exists()


def test_the_list_links_each_debtor_to_its_page(client, operator):
    debtor = DebtorFactory()
    client.force_login(operator)
    text = client.get(reverse("debtor_list")).content.decode()
    assert f'href="{reverse("debtor_detail", args=[debtor.pk])}"' in text


def test_the_debtor_page_shows_the_debt_and_every_message(client, operator):
    debtor = DebtorFactory(
        name="Lucía Restrepo",
        phone_e164="+573001112233",
        phone_raw="300 111 2233",
        amount=Decimal("1250000.00"),
        currency="COP",
        reference="CR-77",
        due_date=timezone.localdate() - datetime.timedelta(days=10),
        extra={"branch": "Cali"},
    )
    account = WhatsAppSessionFactory(name="Cobranzas 1")
    now = timezone.now()
    read = MessageFactory(
        debtor=debtor,
        campaign=CampaignFactory(name="Cobro marzo"),
        session=account,
        body="Hola Lucía, su saldo es 1.250.000",
        status=MessageStatus.READ,
        sent_at=now,
        delivered_at=now,
        read_at=now,
    )
    IncomingMessageFactory(
        conversation=ConversationFactory(debtor=debtor),
        in_reply_to=read,
        session=account,
        text="Pago el viernes",
        received_at=now,
    )
    MessageFactory(
        debtor=debtor,
        campaign=CampaignFactory(name="Cobro abril"),
        status=MessageStatus.FAILED,
        last_error="Not on WhatsApp",
    )
    MessageFactory(campaign=CampaignFactory(name="Otra persona"))
    client.force_login(operator)
    text = client.get(reverse("debtor_detail", args=[debtor.pk])).content.decode()
    for expected in [
        "Lucía Restrepo",
        "+573001112233",
        "300 111 2233",
        "COP\xa01,250,000",  # an English page writes money as en_US does
        "CR-77",
        "Cali",
        f'<a href="/campaigns/{read.campaign_id}/">Cobro marzo</a>',
        "Cobranzas 1",
        "Hola Lucía, su saldo es 1.250.000",
        "Delivered",
        "Pago el viernes",
        "Cobro abril",
        "Not on WhatsApp",
        "overdue by",
    ]:
        assert expected in text
    assert "Otra persona" not in text
    assert text.index("Cobro abril") < text.index("Cobro marzo")  # newest first
    assert "Opt out" in text


def test_an_unknown_debtor_is_a_404(client, operator):
    client.force_login(operator)
    assert client.get(reverse("debtor_detail", args=[999_999])).status_code == 404


def test_the_debtor_page_sends_anonymous_users_to_the_login(client):
    debtor = DebtorFactory()
    response = client.get(reverse("debtor_detail", args=[debtor.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    response = client.post(reverse("debtor_opt_out", args=[debtor.pk]))
    assert response.status_code == 302
    debtor.refresh_from_db()
    assert not debtor.opted_out


def test_opting_out_from_the_debtor_page_answers_htmx_with_the_new_standing(client, operator):
    debtor = DebtorFactory()
    client.force_login(operator)
    response = client.post(reverse("debtor_opt_out", args=[debtor.pk]), HTTP_HX_REQUEST="true")
    text = response.content.decode()
    assert text.lstrip().startswith('<div id="debtor-standing"')
    assert "opted out" in text
    assert "<button" not in text
    assert "<nav" not in text
    debtor.refresh_from_db()
    assert debtor.opted_out
    assert debtor.opted_out_at is not None


def test_opting_out_without_javascript_redirects_back_with_a_message(client, operator):
    debtor = DebtorFactory(name="Iván Peña")
    client.force_login(operator)
    response = client.post(reverse("debtor_opt_out", args=[debtor.pk]), follow=True)
    assert response.redirect_chain == [(reverse("debtor_detail", args=[debtor.pk]), 302)]
    text = response.content.decode()
    assert "Iván Peña opted out" in text
    assert 'id="debtor-standing"' in text
    debtor.refresh_from_db()
    assert debtor.opted_out


def test_opting_out_needs_post_and_a_csrf_token(operator):
    debtor = DebtorFactory()
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    url = reverse("debtor_opt_out", args=[debtor.pk])
    assert client.get(url).status_code == 405
    assert client.post(url, HTTP_HX_REQUEST="true").status_code == 403
    debtor.refresh_from_db()
    assert not debtor.opted_out


def test_starting_before_the_preview_is_ready_goes_back_to_the_preparing_page(client, operator):
    client.force_login(operator)
    _upload(client, prepare=False)
    debtor_import = DebtorImport.objects.get()
    response = client.post(reverse("debtor_import_start", args=[debtor_import.pk]), {})
    assert response.status_code == 302
    assert response["Location"] == reverse("debtor_import_detail", args=[debtor_import.pk])
    debtor_import.refresh_from_db()
    assert debtor_import.submitted_at is None


# --- dispositions -----------------------------------------------------------------------------


def test_recording_a_promise_with_htmx_answers_with_the_fragment_and_a_trigger(client, operator):
    debtor = DebtorFactory(name="Lucía Gómez")
    client.force_login(operator)
    due = timezone.localdate() + datetime.timedelta(days=4)
    response = client.post(
        reverse("debtor_disposition_list", args=[debtor.pk]),
        {"kind": "promise", "amount": "50000", "date": due.isoformat(), "note": "Paga el viernes"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert json.loads(response["HX-Trigger"]) == {"disposition-recorded": {}}
    assert html.lstrip().startswith("<section")
    assert f'id="debtor-{debtor.pk}-dispositions"' in html
    assert "50,000" in html
    assert due.isoformat() in html
    assert "Paga el viernes" in html
    assert Debtor.objects.get(pk=debtor.pk).current_disposition.kind == DispositionKind.PROMISE


def test_a_promise_without_amount_re_renders_the_fragment_with_the_error(client, operator):
    debtor = DebtorFactory()
    client.force_login(operator)
    response = client.post(
        reverse("debtor_disposition_list", args=[debtor.pk]),
        {"kind": "promise", "note": "kept"},
        HTTP_HX_REQUEST="true",
    )
    html = response.content.decode()
    assert "HX-Trigger" not in response
    assert "A promise to pay needs the amount promised" in html
    assert "kept" in html  # what was typed stays
    assert not Disposition.objects.exists()


def test_recording_without_javascript_redirects_to_the_debtor_page(client, operator):
    debtor = DebtorFactory()
    client.force_login(operator)
    response = client.post(
        reverse("debtor_disposition_list", args=[debtor.pk]), {"kind": "paid"}, follow=True
    )
    assert response.redirect_chain == [(reverse("debtor_detail", args=[debtor.pk]), 302)]
    html = response.content.decode()
    assert "paid recorded." in html
    assert "New campaigns leave" in html


def test_a_refused_disposition_without_javascript_shows_the_page_with_the_errors(client, operator):
    debtor = DebtorFactory(name="Iván")
    client.force_login(operator)
    response = client.post(
        reverse("debtor_disposition_list", args=[debtor.pk]), {"kind": "call_back"}
    )
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Iván</h1>" in html
    assert "A call back needs the day to call." in html


def test_a_viewer_sees_dispositions_but_cannot_record_one(client, viewer):
    debtor = DebtorFactory()
    client.force_login(viewer)
    page = client.get(reverse("debtor_detail", args=[debtor.pk])).content.decode()
    assert "Dispositions" in page
    assert 'class="disposition-form"' not in page
    response = client.post(reverse("debtor_disposition_list", args=[debtor.pk]), {"kind": "paid"})
    assert response.status_code == 403
    assert not Disposition.objects.exists()


def test_the_list_filters_by_current_disposition(client, operator):
    promised, paid, broken, untouched = DebtorFactory.create_batch(4)
    debtor_disposition_record(
        debtor=promised,
        kind="promise",
        amount=Decimal("10"),
        date=timezone.localdate(),
        by=None,
    )
    debtor_disposition_record(debtor=paid, kind="paid", by=None)
    Disposition.objects.filter(
        pk=debtor_disposition_record(
            debtor=broken, kind="promise", amount=Decimal("5"), date=timezone.localdate(), by=None
        ).pk
    ).update(broken_on=timezone.localdate())
    client.force_login(operator)

    def listed(value):
        html = client.get(reverse("debtor_list"), {"disposition": value}).content.decode()
        return {d.pk for d in (promised, paid, broken, untouched) if f"/debtors/{d.pk}/" in html}

    assert listed("promise") == {promised.pk, broken.pk}
    assert listed("broken") == {broken.pk}
    assert listed("paid") == {paid.pk}
    assert listed("none") == {untouched.pk}


def test_the_broken_promises_page_lists_the_days_promises(client, operator):
    debtor = DebtorFactory(name="Ana Ruiz", reference="REF-77")
    today = timezone.localdate()
    promise = Disposition.objects.create(
        debtor=debtor,
        kind="promise",
        amount=Decimal("70000"),
        date=today - datetime.timedelta(days=1),
        at=timezone.now() - datetime.timedelta(days=2),
    )
    client.force_login(operator)
    response = client.post(reverse("promise_broken_check"), follow=True)
    html = response.content.decode()
    assert "1 more promise(s) found broken." in html
    assert "Ana Ruiz" in html
    assert "REF-77" in html
    assert "70,000" in html
    promise.refresh_from_db()
    assert promise.broken_on == today
    yesterday = client.get(reverse("promise_broken_list"), {"day": promise.date.isoformat()})
    assert "No promise was found broken on this day." in yesterday.content.decode()
    nonsense = client.get(reverse("promise_broken_list"), {"day": "soon"})
    assert "Ana Ruiz" in nonsense.content.decode()  # an unreadable day means today


def test_a_viewer_cannot_check_promises(client, viewer):
    client.force_login(viewer)
    assert client.post(reverse("promise_broken_check")).status_code == 403


# --- Spanish -------------------------------------------------------------------------------

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es"}


def test_the_debtor_list_reads_in_spanish_for_a_spanish_browser(client, operator):
    DebtorFactory(name="Ana", status="new")
    client.force_login(operator)
    html = client.get(reverse("debtor_list"), **SPANISH).content.decode()
    assert "<h1>Deudores</h1>" in html
    assert ">sin contactar</span>" in html
    assert 'placeholder="nombre, teléfono o referencia"' in html
    assert "<h1>Debtors</h1>" in client.get(reverse("debtor_list")).content.decode()


def test_rejected_rows_give_their_reason_in_the_readers_language(client, operator):
    client.force_login(operator)
    _upload(client)
    debtor_import = DebtorImport.objects.get()
    client.post(
        reverse("debtor_import_start", args=[debtor_import.pk]), _mapping_post(debtor_import)
    )
    debtor_import_run(debtor_import_id=debtor_import.pk)
    url = reverse("debtor_import_detail", args=[debtor_import.pk])
    html = client.get(url, HTTP_HX_REQUEST="true", **SPANISH).content.decode()
    assert "Primeras filas no importadas" in html
    assert "<td>Bea</td><td>phone</td><td>12</td><td>no es un número de teléfono</td>" in html


def test_opting_out_in_bulk_confirms_in_spanish(client, operator):
    chosen = DebtorFactory()
    client.force_login(operator)
    response = client.post(
        reverse("debtor_bulk_opt_out"), {"ids": [chosen.pk], "query": ""}, follow=True, **SPANISH
    )
    assert "1 deudor(es) dado(s) de baja." in response.content.decode()
    chosen.refresh_from_db()
    assert chosen.opted_out


def test_every_debtor_page_reads_in_spanish(client, supervisor):
    debtor = DebtorFactory(name="Ana")
    entry = DoNotContact.objects.create(
        phone_e164="+573001112233", source=OptOutSource.REPLY, added_at=timezone.now()
    )
    client.force_login(supervisor)
    pages = {
        reverse("debtor_detail", args=[debtor.pk]): "Aún no hay nada registrado.",
        reverse("debtor_import_new"): "<h1>Importar deudores</h1>",
        reverse("promise_broken_list"): "Ese día no se detectó ninguna promesa incumplida.",
        reverse("do_not_contact_list"): "<h1>Lista de no contactar</h1>",
        reverse("do_not_contact_import"): "<h1>Importar una lista de no contactar</h1>",
        reverse("do_not_contact_remove", args=[entry.pk]): "<dd>Respuesta del deudor</dd>",
    }
    for url, spanish in pages.items():
        response = client.get(url, **SPANISH)
        assert response.status_code == 200, url
        assert spanish in response.content.decode(), url
