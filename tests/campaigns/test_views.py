import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tests.factories import CampaignFactory, DebtorFactory, MessageFactory

pytestmark = pytest.mark.django_db


def test_a_campaigns_messages_export_as_escaped_csv_and_xlsx(client, operator):
    campaign = CampaignFactory()
    debtor = DebtorFactory(name="@evil", phone_e164="+573001234567")
    MessageFactory(campaign=campaign, debtor=debtor, body="=HYPERLINK(1)", status="sent")
    MessageFactory()  # another campaign's message is not exported
    client.force_login(operator)

    response = client.get(reverse("campaign_message_export", args=[campaign.pk, "csv"]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[0][:3] == ["debtor", "phone", "status"]
    assert rows[1][:3] == ["'@evil", "+573001234567", "sent"]
    assert rows[1][5] == "'=HYPERLINK(1)"
    assert len(rows) == 2

    response = client.get(reverse("campaign_message_export", args=[campaign.pk, "xlsx"]))
    sheet = load_workbook(io.BytesIO(b"".join(response.streaming_content))).active
    assert sheet["B2"].value == "+573001234567"
    assert sheet["F2"].data_type == "s"


def test_an_unknown_export_format_is_not_found(client, operator):
    client.force_login(operator)
    url = reverse("campaign_message_export", args=[CampaignFactory().pk, "pdf"])
    assert client.get(url).status_code == 404
