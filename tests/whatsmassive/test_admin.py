import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse

from api.models import IdempotentRequest
from api.services import api_key_create
from campaigns.models import Campaign, CampaignStatus, MessageStatus
from debtors.models import Debtor, DebtorImport, DoNotContact, OptOutSource, StopWord
from debtors.services import debtor_disposition_record
from inbox.models import IncomingMessage
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    IncomingMessageFactory,
    MessageFactory,
    PoolMemberFactory,
    QuickReplyFactory,
    UserFactory,
)
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import endpoint_create
from whatsmassive.models import LogLevel, SystemLog

pytestmark = pytest.mark.django_db

# django-axes and django-otp register their own pages (login attempts, devices): theirs to test.
THIRD_PARTY_APPS = {"axes", "otp_static", "otp_totp"}
REGISTERED = sorted(
    (model for model in admin.site._registry if model._meta.app_label not in THIRD_PARTY_APPS),
    key=lambda model: model._meta.label,
)


@pytest.fixture
def one_of_each():
    member = PoolMemberFactory()
    message = MessageFactory(campaign=CampaignFactory(pool=member.pool))
    log = SystemLog.objects.create(level=LogLevel.INFO, source="tests", message="hello")
    Group.objects.create(name="Operators")
    debtor_import = DebtorImport.objects.create(
        original_filename="a.csv", format="csv", region="CO"
    )
    key, _ = api_key_create(user=UserFactory(), name="sync", scope="read")
    answer = IdempotentRequest.objects.create(
        user=key.user, key="k", request_hash="0" * 64, response_status=201, response_body={}
    )
    endpoint = endpoint_create(
        url="http://127.0.0.1:9/hooks", event_types=["message.sent"], by=None
    )
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, webhook_id="msg_1")
    incoming = IncomingMessageFactory(in_reply_to=message)
    return [
        incoming,
        incoming.conversation,
        QuickReplyFactory(),
        key,
        answer,
        endpoint,
        delivery,
        member,
        member.pool,
        member.session,
        message,
        message.campaign,
        message.debtor,
        log,
        debtor_import,
        DoNotContact.objects.create(
            phone_e164="+573001112233", source=OptOutSource.REPLY, added_at=message.created_at
        ),
        StopWord.objects.get_or_create(phrase="basta", defaults={"language": "es"})[0],
    ]


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_every_admin_page_loads_for_staff(client, staff_user, one_of_each, model):
    client.force_login(staff_user)
    info = (model._meta.app_label, model._meta.model_name)
    changelist = client.get(reverse("admin:{}_{}_changelist".format(*info)))
    assert changelist.status_code == 200

    add = client.get(reverse("admin:{}_{}_add".format(*info)))
    # Logs, import history, idempotency answers, webhooks and the do-not-contact registry
    # are written by the application only (endpoints are registered where their secret is
    # shown once; phones go on the registry by opting out).
    written_by_the_app = {
        SystemLog,
        DebtorImport,
        DoNotContact,
        IdempotentRequest,
        WebhookEndpoint,
        WebhookDelivery,
        IncomingMessage,
    }
    assert add.status_code == (403 if model in written_by_the_app else 200)

    instance = model._default_manager.first()
    assert instance is not None, f"fixture made no {model.__name__}"
    change = client.get(reverse("admin:{}_{}_change".format(*info), args=[instance.pk]))
    assert change.status_code == 200


@pytest.mark.parametrize("model", REGISTERED, ids=lambda model: model._meta.label)
def test_admin_pages_send_anonymous_users_to_the_login(client, model):
    info = (model._meta.app_label, model._meta.model_name)
    response = client.get(reverse("admin:{}_{}_changelist".format(*info)))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_admin_refuses_operators_who_are_not_staff(client, operator):
    client.force_login(operator)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]


def test_pause_action_pauses_a_running_campaign_and_reports_refusals(client, staff_user):
    running = CampaignFactory(status=CampaignStatus.RUNNING)
    draft = CampaignFactory(status=CampaignStatus.DRAFT)
    client.force_login(staff_user)
    response = client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "pause", "_selected_action": [running.pk, draft.pk]},
        follow=True,
    )
    assert Campaign.objects.get(pk=running.pk).status == CampaignStatus.PAUSED
    assert Campaign.objects.get(pk=draft.pk).status == CampaignStatus.DRAFT
    text = response.content.decode()
    assert "1 campaign(s) paused." in text
    assert "cannot become paused" in text


def test_cancel_action_skips_what_is_left(client, staff_user):
    message = MessageFactory(campaign=CampaignFactory(status=CampaignStatus.RUNNING))
    client.force_login(staff_user)
    client.post(
        reverse("admin:campaigns_campaign_changelist"),
        {"action": "cancel", "_selected_action": [message.campaign.pk]},
    )
    message.refresh_from_db()
    assert message.status == MessageStatus.SKIPPED


def test_opt_out_action_marks_the_selected_debtors(client, staff_user):
    chosen, other = DebtorFactory(), DebtorFactory()
    client.force_login(staff_user)
    client.post(
        reverse("admin:debtors_debtor_changelist"),
        {"action": "opt_out", "_selected_action": [chosen.pk]},
    )
    assert Debtor.objects.get(pk=chosen.pk).opted_out
    assert not Debtor.objects.get(pk=other.pk).opted_out


def test_a_debtors_admin_page_shows_its_dispositions_without_editing_them(client, staff_user):
    debtor = DebtorFactory()
    debtor_disposition_record(debtor=debtor, kind="dispute", note="No reconoce la deuda", by=None)
    client.force_login(staff_user)
    page = client.get(reverse("admin:debtors_debtor_change", args=[debtor.pk])).content.decode()
    assert "No reconoce la deuda" in page
    # Read-only: no field to change it, no form to add one.
    assert 'name="dispositions-0-note"' not in page
    assert 'name="dispositions-__prefix__-kind"' not in page
