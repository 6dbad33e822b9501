import csv
import datetime
import io

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from tests.factories import CampaignFactory
from whatsmassive.models import AuditKind, AuditRecord
from whatsmassive.services import audit_record_add

pytestmark = pytest.mark.django_db


def _send(phone: str, **fields):
    return audit_record_add(
        kind=AuditKind.SEND, action="sent", phone_e164=phone, text=f"Hola {phone}", **fields
    )


def test_the_audit_trail_is_for_supervisors(client, operator, supervisor):
    client.force_login(operator)
    assert client.get(reverse("audit_list")).status_code == 403
    client.force_login(supervisor)
    assert client.get(reverse("audit_list")).status_code == 200


def test_the_audit_trail_filters_by_phone_campaign_and_date(client, supervisor, settings):
    settings.DEFAULT_PHONE_REGION = "CO"
    campaign = CampaignFactory()
    _send("+573001110001", campaign=campaign)
    _send("+573001110002")
    _send("+573001110001", at=timezone.now() - datetime.timedelta(days=10))
    client.force_login(supervisor)
    response = client.get(
        reverse("audit_list"),
        {"phone": "300 111 0001", "since": timezone.localdate().isoformat()},
        HTTP_HX_REQUEST="true",
    )
    assert response.content.count(b"Hola +573001110001") == 1
    assert b"+573001110002" not in response.content
    response = client.get(reverse("audit_list"), {"campaign": campaign.pk})
    assert response.content.count(b"<details") == 1


def test_the_audit_trail_pages_by_keyset(client, supervisor):
    for index in range(105):
        _send(f"+5730011{index:05d}")
    client.force_login(supervisor)
    first = client.get(reverse("audit_list")).context["page"]
    assert len(first.records) == 100
    assert first.next_cursor
    second = client.get(reverse("audit_list"), {"before": first.next_cursor}).context["page"]
    assert len(second.records) == 5
    assert second.next_cursor is None


def test_the_audit_export_streams_csv_and_is_itself_audited(client, supervisor):
    _send("+573001110001")
    client.force_login(supervisor)
    response = client.get(reverse("audit_export"), {"kind": "send"})
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert lines[0].startswith("id,at,kind,action,by,debtor_phone")
    assert len(lines) == 2
    assert "Hola +573001110001" in lines[1]
    record = AuditRecord.objects.get(kind=AuditKind.EXPORT)
    assert record.detail == {"filters": {"kind": "send"}, "rows": 1}
    assert record.by_name == supervisor.username


def _export_lines(client, **params):
    # The language as LocaleMiddleware would set it from the browser's Accept-Language.
    with translation.override("es"):
        response = client.get(reverse("audit_export"), params, HTTP_ACCEPT_LANGUAGE="es-CO,es")
    return b"".join(response.streaming_content).decode("utf-8")


def test_the_audit_export_in_spanish_is_translated_and_laid_out_for_excel_there(
    client, supervisor, spanish_catalog
):
    spanish_catalog({"kind": "tipo", "send attempt": "intento de envío", "text": "texto"})
    _send("+573001110001")
    client.force_login(supervisor)
    text = _export_lines(client, kind="send")
    assert text.startswith("\ufeff")  # a decimal comma (es-CO): `;` and a BOM
    (row,) = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), delimiter=";")
    assert (row["tipo"], row["texto"]) == ("intento de envío", "Hola +573001110001")


def test_the_csv_layout_chosen_is_kept_for_the_next_export(client, supervisor):
    _send("+573001110001")
    client.force_login(supervisor)
    assert _export_lines(client).startswith("\ufeff")
    chosen = _export_lines(client, csv="comma")
    assert not chosen.startswith("\ufeff")
    assert chosen.splitlines()[0].startswith("id,")
    # No choice in the link: the session remembers the last one, over the locale's.
    assert _export_lines(client).splitlines()[0].startswith("id,")
    page = client.get(reverse("audit_list"), HTTP_ACCEPT_LANGUAGE="es-CO").content.decode()
    assert '<option value="comma" selected>' in page
    assert _export_lines(client, csv="semicolon").startswith("\ufeffid;")


def test_an_unknown_layout_in_the_link_falls_back_to_the_locales(client, supervisor):
    _send("+573001110001")
    client.force_login(supervisor)
    assert _export_lines(client, csv="tab").startswith("\ufeffid;")
