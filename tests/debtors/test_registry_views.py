import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone, translation

from debtors.models import DoNotContact, OptOutSource
from whatsmassive.models import AuditKind, AuditRecord

pytestmark = pytest.mark.django_db


def _entry(phone="+573001112233", **fields):
    return DoNotContact.objects.create(
        phone_e164=phone, source=OptOutSource.REPLY, added_at=timezone.now(), **fields
    )


def test_the_registry_lists_and_searches_phones(client, viewer):
    _entry("+573001112233", reason="Replied: baja")
    _entry("+573009990000")
    client.force_login(viewer)
    response = client.get(reverse("do_not_contact_list"), {"q": "1112"})
    assert response.status_code == 200
    assert b"+573001112233" in response.content
    assert b"+573009990000" not in response.content
    assert b"Add to the registry" not in response.content  # a Viewer cannot add


def test_an_operator_adds_a_phone_typed_the_national_way(client, operator, settings):
    settings.DEFAULT_PHONE_REGION = "CO"
    client.force_login(operator)
    response = client.post(
        reverse("do_not_contact_new"), {"phone": "300 123 4567", "reason": "por teléfono"}
    )
    assert response.status_code == 302
    assert DoNotContact.objects.get().phone_e164 == "+573001234567"


def test_a_bad_phone_re_renders_the_form_fragment_and_adds_nothing(client, operator):
    client.force_login(operator)
    response = client.post(reverse("do_not_contact_new"), {"phone": "hola"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert b"This is not a phone number" in response.content
    assert b"<h1>" not in response.content
    assert not DoNotContact.objects.exists()


def test_only_a_supervisor_removes_a_phone_and_must_say_why(client, operator, supervisor):
    entry = _entry()
    client.force_login(operator)
    url = reverse("do_not_contact_remove", args=[entry.pk])
    assert client.post(url, {"reason": "consent"}).status_code == 403
    client.force_login(supervisor)
    assert b"This field is required" in client.post(url, {"reason": ""}).content
    assert client.post(url, {"reason": "Written consent"}).status_code == 302
    assert not DoNotContact.objects.exists()
    assert AuditRecord.objects.get(kind=AuditKind.CONSENT).detail["reason"] == "Written consent"


def test_the_import_page_shows_counts_and_the_rejected_rows(client, operator):
    client.force_login(operator)
    upload = SimpleUploadedFile("list.csv", b"phone,reason\n+573001110005,asked\nnope,x\n")
    response = client.post(reverse("do_not_contact_import"), {"file": upload, "region": "CO"})
    assert response.status_code == 200
    assert b"Added to the registry" in response.content
    assert b"nope" in response.content
    assert DoNotContact.objects.get().reason == "asked"


def test_the_export_streams_the_registry_and_is_audited(client, operator, supervisor):
    _entry(reason="Replied: STOP")
    client.force_login(operator)
    assert client.get(reverse("do_not_contact_export")).status_code == 403
    client.force_login(supervisor)
    response = client.get(reverse("do_not_contact_export"))
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0] == "phone,reason,source,since,added_by"
    assert "+573001112233,Replied: STOP,Debtor's reply" in body
    record = AuditRecord.objects.get(kind=AuditKind.EXPORT)
    assert (record.action, record.by_name) == ("do-not-contact registry", supervisor.username)


def test_the_rejected_rows_show_whatever_the_language_of_the_report(
    client, operator, spanish_catalog
):
    spanish_catalog({"row": "fila", "column": "columna", "value": "valor", "reason": "motivo"})
    client.force_login(operator)
    upload = SimpleUploadedFile("lista.csv", b"telefono,motivo\n+573001110005,pidio\nnope,x\n")
    with translation.override("es"):
        response = client.post(
            reverse("do_not_contact_import"),
            {"file": upload, "region": "CO"},
            HTTP_ACCEPT_LANGUAGE="es",
        )
    assert response.status_code == 200
    assert [(line.row, line.value) for line in response.context["rejected"]] == [("3", "nope")]


def test_the_registry_export_in_spanish_is_laid_out_for_excel_there(
    client, supervisor, spanish_catalog
):
    spanish_catalog({"phone": "teléfono", "source": "origen"})
    _entry(reason="Respondió: BAJA")
    client.force_login(supervisor)
    with translation.override("es"):
        response = client.get(reverse("do_not_contact_export"), HTTP_ACCEPT_LANGUAGE="es-CO")
        source = str(OptOutSource.REPLY.label)
    content = b"".join(response.streaming_content).decode("utf-8")
    assert content.startswith("\ufeff")
    (row,) = csv.DictReader(io.StringIO(content.removeprefix("\ufeff")), delimiter=";")
    assert (row["teléfono"], row["origen"]) == ("+573001112233", source)
