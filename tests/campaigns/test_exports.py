import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone, translation

from campaigns.exports import MESSAGE_EXPORT_HEADER, campaign_message_export
from campaigns.models import MessageStatus
from debtors.services import debtor_disposition_record
from tests.factories import CampaignFactory, DebtorFactory, replied_message

pytestmark = pytest.mark.django_db


def test_campaign_messages_export_the_debt_the_reply_and_the_promise(supervisor):
    campaign = CampaignFactory()
    debtor = DebtorFactory(reference="REF-9", amount=Decimal("120000"))
    replied_message(
        campaign=campaign,
        debtor=debtor,
        status=MessageStatus.READ,
        sent_at=timezone.now(),
        reply_text="Pago el viernes",
        replied_at=timezone.now(),
    )
    due = timezone.localdate() + datetime.timedelta(days=3)
    debtor_disposition_record(
        debtor=debtor, kind="promise", amount=Decimal("60000"), date=due, by=None
    )
    response = campaign_message_export(campaign=campaign, fmt="csv", by=supervisor)
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    header, row = csv.reader(io.StringIO(text))
    assert header == MESSAGE_EXPORT_HEADER
    cells = dict(zip(header, row, strict=True))
    assert (cells["reference"], cells["amount"], cells["currency"]) == ("REF-9", "120000.00", "COP")
    assert cells["last_reply"] == "Pago el viernes"
    assert (cells["disposition"], cells["promise_amount"], cells["promise_date"]) == (
        "promise to pay",
        "60000.00",
        due.isoformat(),
    )
    assert cells["promise_broken"] == "no"


@pytest.mark.parametrize(
    ("accept_language", "delimiter"),
    [("es-CO,es;q=0.9", ";"), ("es-MX,es;q=0.9", ","), ("es", ";")],
)
def test_the_export_link_writes_the_layout_of_the_browsers_region(
    client, supervisor, spanish_catalog, accept_language, delimiter
):
    spanish_catalog({"debtor": "deudor", "status": "estado", "amount": "monto", "read": "leído"})
    campaign = CampaignFactory()
    replied_message(
        campaign=campaign,
        debtor=DebtorFactory(name="Iván", amount=Decimal("2000.75")),
        status=MessageStatus.READ,
        reply_text="Sí",
        replied_at=timezone.now(),
    )
    client.force_login(supervisor)
    url = reverse("campaign_message_export", args=[campaign.pk, "csv"])
    with translation.override("es"):
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=accept_language)
        read = str(MessageStatus.READ.label)
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff") == (delimiter == ";")
    (row,) = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")), delimiter=delimiter)
    decimal = "," if delimiter == ";" else "."
    assert (row["deudor"], row["estado"], row["monto"]) == ("Iván", read, f"2000{decimal}75")
