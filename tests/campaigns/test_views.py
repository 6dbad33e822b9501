import csv
import io
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from debtors.models import DebtorStatus
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    MessageFactory,
    PoolFactory,
    PoolMemberFactory,
    replied_message,
    running_campaign,
)

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PAGE_CHROME = '<header class="topbar">'


@pytest.fixture
def logged_in(client, operator):
    client.force_login(operator)
    return client


def _ready_campaign(debtors=3, **fields):
    """A draft that can start: a pool with an enabled account and some debtors."""
    pool = PoolFactory()
    PoolMemberFactory(pool=pool)
    DebtorFactory.create_batch(debtors)
    return CampaignFactory(pool=pool, **fields)


def _form_data(pool, **overrides):
    return {"name": "November reminder", "pool": pool.pk, "template": "Hola {name}", **overrides}


# --- pages ---------------------------------------------------------------------------------


def test_every_campaign_page_renders_for_an_operator(logged_in):
    draft = _ready_campaign()
    running = running_campaign(pending=2)
    urls = [
        reverse("campaign_list"),
        reverse("campaign_create"),
        reverse("campaign_edit", args=[draft.pk]),
        reverse("campaign_detail", args=[draft.pk]),
        reverse("campaign_detail", args=[running.pk]),
        reverse("campaign_progress", args=[running.pk]),
        reverse("campaign_bar", args=[running.pk]),
    ]
    for url in urls:
        assert logged_in.get(url).status_code == 200, url


def test_anonymous_visitors_are_sent_to_log_in(client):
    campaign = CampaignFactory()
    message = MessageFactory(campaign=campaign, status=MessageStatus.UNKNOWN)
    gets = [
        reverse("campaign_list"),
        reverse("campaign_create"),
        reverse("campaign_detail", args=[campaign.pk]),
        reverse("campaign_progress", args=[campaign.pk]),
        reverse("campaign_bar", args=[campaign.pk]),
    ]
    posts = [
        reverse("campaign_preview"),
        reverse("campaign_start", args=[campaign.pk]),
        reverse("campaign_cancel", args=[campaign.pk]),
        reverse("message_resolve", args=[campaign.pk, message.pk]),
    ]
    for url in gets:
        assert client.get(url).url.startswith(reverse("login")), url
    for url in posts:
        assert client.post(url, {"outcome": "sent"}).url.startswith(reverse("login")), url
    campaign.refresh_from_db()
    message.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert message.status == MessageStatus.UNKNOWN


def test_the_list_shows_each_campaign_with_its_live_bar(logged_in):
    campaign = running_campaign(pending=3, sent=1)
    response = logged_in.get(reverse("campaign_list"))
    html = response.content.decode()
    assert campaign.name in html
    assert f'id="campaign-{campaign.pk}-bar"' in html
    assert 'ws-connect="/ws/dashboard/"' in html
    assert "1 / 4 · 25%" in html
    assert reverse("campaign_create") in html


def test_the_bar_alone_is_returned_without_the_page(logged_in):
    campaign = running_campaign(pending=2)
    html = logged_in.get(reverse("campaign_bar", args=[campaign.pk]), **HTMX).content.decode()
    assert html.lstrip().startswith(f'<div id="campaign-{campaign.pk}-bar"')
    assert PAGE_CHROME not in html


# --- create, edit, preview -----------------------------------------------------------------


def test_creating_saves_a_draft_and_goes_to_its_page(logged_in, operator):
    pool = PoolFactory()
    data = _form_data(pool, status=["new", "read"], amount_min="1000", due_to="2026-12-31")
    response = logged_in.post(reverse("campaign_create"), data)
    campaign = Campaign.objects.get()
    assert response.url == reverse("campaign_detail", args=[campaign.pk])
    assert campaign.status == CampaignStatus.DRAFT
    assert campaign.created_by == operator
    assert campaign.audience == {
        "status": ["new", "read"],
        "amount_min": "1000",
        "due_to": "2026-12-31",
    }


def test_an_invalid_form_explains_itself_and_creates_nothing(logged_in):
    pool = PoolFactory()
    data = _form_data(pool, template="Hola {name.__class__}", amount_min="9", amount_max="1")
    response = logged_in.post(reverse("campaign_create"), data)
    html = response.content.decode()
    assert response.status_code == 200
    assert "Must be at least the “amount from”." in html
    assert Campaign.objects.count() == 0


def test_a_template_syntax_error_is_shown_on_the_template(logged_in):
    response = logged_in.post(
        reverse("campaign_create"), _form_data(PoolFactory(), template="Hola {name.__class__}")
    )
    assert "is not a placeholder" in response.content.decode()
    assert Campaign.objects.count() == 0


def test_without_a_pool_the_create_page_points_to_pools(logged_in):
    html = logged_in.get(reverse("campaign_create")).content.decode()
    assert reverse("pool_list") in html
    assert "<textarea" not in html


def test_the_create_page_offers_base_and_extra_placeholders(logged_in):
    PoolFactory()
    DebtorFactory(extra={"branch": "Cali"})
    DebtorFactory(extra={"secret": "x"}, opted_out=True)
    html = logged_in.get(reverse("campaign_create")).content.decode()
    for name in ("name", "amount", "due_date", "reference", "branch"):
        assert f'data-placeholder="{name}"' in html
    assert 'data-placeholder="secret"' not in html


def test_the_preview_lists_unknown_placeholders_by_name(logged_in):
    pool = PoolFactory()
    PoolMemberFactory(pool=pool)
    DebtorFactory(extra={"branch": "Cali"})
    data = _form_data(pool, template="Hola {name} de {branch}: {deuda} {cuota}")
    html = logged_in.post(reverse("campaign_preview"), data, **HTMX).content.decode()
    assert html.lstrip().startswith('<aside id="campaign-preview"')
    assert PAGE_CHROME not in html
    assert "Unknown placeholder(s): {deuda}, {cuota}." in html
    assert Campaign.objects.count() == 0


def test_the_preview_renders_the_message_for_a_sample_debtor(logged_in):
    pool = PoolFactory()
    PoolMemberFactory(pool=pool)
    DebtorFactory(name="Ana Ríos", amount=Decimal("1250000"), extra={"branch": "Cali"})
    data = _form_data(pool, template="Hola {name}, debe {amount} en {branch}")
    html = logged_in.post(reverse("campaign_preview"), data, **HTMX).content.decode()
    assert "Hola Ana Ríos, debe $1.250.000 en Cali" in html


def test_the_audience_count_follows_the_filter_and_never_counts_opted_out(logged_in):
    pool = PoolFactory()
    DebtorFactory.create_batch(3, amount=Decimal("900000"))
    DebtorFactory(amount=Decimal("1000"))
    DebtorFactory(amount=Decimal("900000"), opted_out=True)
    data = _form_data(pool, amount_min="500000")
    html = logged_in.post(reverse("campaign_preview"), data, **HTMX).content.decode()
    assert "<strong>3</strong> debtors will receive this" in html


def test_the_preview_says_who_the_guards_leave_out_and_the_boxes_bring_them_back(logged_in):
    pool = PoolFactory()
    DebtorFactory(status=DebtorStatus.PAID)
    contacted = DebtorFactory()
    MessageFactory(debtor=contacted, status=MessageStatus.READ, sent_at=timezone.now())
    DebtorFactory()
    data = _form_data(pool, recent_days="7")
    html = logged_in.post(reverse("campaign_preview"), data, **HTMX).content.decode()
    assert "<strong>1</strong> debtor will receive this" in html
    assert "1 paid, disputed or wrong-number debtor left out." in html
    assert "1 contacted in the last 7 days, left out." in html
    data.update(include_closed="on", include_recent="on")
    html = logged_in.post(reverse("campaign_preview"), data, **HTMX).content.decode()
    assert "<strong>3</strong> debtors will receive this" in html
    assert "1 contacted in the last 7 days, included." in html


def test_editing_a_draft_changes_it(logged_in):
    campaign = _ready_campaign()
    other_pool = PoolFactory()
    data = _form_data(other_pool, name="Renamed", template="Hi {name}", search="Gómez")
    response = logged_in.post(reverse("campaign_edit", args=[campaign.pk]), data)
    campaign.refresh_from_db()
    assert response.url == reverse("campaign_detail", args=[campaign.pk])
    assert (campaign.name, campaign.template, campaign.pool) == ("Renamed", "Hi {name}", other_pool)
    assert campaign.audience == {"search": "Gómez"}


def test_a_started_campaign_cannot_be_edited(logged_in):
    campaign = running_campaign(pending=1)
    url = reverse("campaign_edit", args=[campaign.pk])
    assert logged_in.get(url).url == reverse("campaign_detail", args=[campaign.pk])
    logged_in.post(url, _form_data(campaign.pool, name="Renamed"))
    campaign.refresh_from_db()
    assert campaign.name != "Renamed"


# --- detail, progress and the state buttons --------------------------------------------------


def test_a_draft_shows_what_will_be_sent_and_its_start_button(logged_in):
    campaign = _ready_campaign(template="Hola {name}")
    html = logged_in.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert f'id="campaign-{campaign.pk}-progress"' in html
    assert f'ws-connect="/ws/campaigns/{campaign.pk}/"' in html
    assert reverse("campaign_start", args=[campaign.pk]) in html
    assert 'hx-disabled-elt="this"' in html
    assert "<strong>3</strong>" in html


def test_the_progress_fragment_comes_alone(logged_in):
    campaign = running_campaign(pending=2)
    url = reverse("campaign_progress", args=[campaign.pk])
    html = logged_in.get(url, **HTMX).content.decode()
    assert html.lstrip().startswith(f'<section id="campaign-{campaign.pk}-progress"')
    assert PAGE_CHROME not in html
    assert 'data-poll="3"' in html  # it polls while running, when the socket is down


def test_starting_creates_one_message_per_debtor_and_answers_with_the_partial(logged_in):
    campaign = _ready_campaign(debtors=4)
    DebtorFactory(opted_out=True)
    url = reverse("campaign_start", args=[campaign.pk])
    response = logged_in.post(url, **HTMX)
    html = response.content.decode()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING
    assert Message.objects.filter(campaign=campaign).count() == 4
    assert html.lstrip().startswith(f'<section id="campaign-{campaign.pk}-progress"')
    assert reverse("campaign_pause", args=[campaign.pk]) in html
    assert "campaign-changed" in response.headers["HX-Trigger"]


def test_a_double_click_on_start_starts_once(logged_in):
    campaign = _ready_campaign(debtors=3)
    url = reverse("campaign_start", args=[campaign.pk])
    logged_in.post(url, **HTMX)
    second = logged_in.post(url, **HTMX)
    assert Message.objects.filter(campaign=campaign).count() == 3
    assert "is running and cannot start" in second.content.decode()
    assert "HX-Trigger" not in second.headers


def test_a_refused_start_shows_the_reasons_and_changes_nothing(logged_in):
    pool = PoolFactory()
    PoolMemberFactory(pool=pool, enabled=False)
    campaign = CampaignFactory(pool=pool)
    html = logged_in.post(reverse("campaign_start", args=[campaign.pk]), **HTMX).content.decode()
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert Message.objects.count() == 0
    assert "The campaign did not start" in html
    assert "has no enabled account" in html
    assert "The audience is empty" in html


def test_without_javascript_a_start_redirects_and_a_refusal_renders_the_page(logged_in):
    ready = _ready_campaign()
    response = logged_in.post(reverse("campaign_start", args=[ready.pk]))
    assert response.url == reverse("campaign_detail", args=[ready.pk])
    refused = CampaignFactory()
    response = logged_in.post(reverse("campaign_start", args=[refused.pk]))
    html = response.content.decode()
    assert PAGE_CHROME in html
    assert "has no enabled account" in html


def test_pause_resume_and_cancel(logged_in):
    campaign = running_campaign(pending=2, sent=1)

    def post(action):
        response = logged_in.post(reverse(f"campaign_{action}", args=[campaign.pk]), **HTMX)
        campaign.refresh_from_db()
        return response.content.decode()

    html = post("pause")
    assert campaign.status == CampaignStatus.PAUSED
    assert "Paused by an operator" in html
    assert reverse("campaign_resume", args=[campaign.pk]) in html
    post("resume")
    assert campaign.status == CampaignStatus.RUNNING
    html = post("cancel")
    assert campaign.status == CampaignStatus.CANCELLED
    assert "Cancelled" in html
    statuses = sorted(campaign.messages.values_list("status", flat=True))
    assert statuses == [MessageStatus.SENT, MessageStatus.SKIPPED, MessageStatus.SKIPPED]


def test_cancel_asks_for_confirmation(logged_in):
    campaign = running_campaign(pending=2)
    html = logged_in.get(reverse("campaign_progress", args=[campaign.pk])).content.decode()
    assert 'hx-confirm="Cancel “' in html


def test_a_refused_transition_is_shown_in_the_partial(logged_in):
    campaign = CampaignFactory(status=CampaignStatus.COMPLETED)
    html = logged_in.post(reverse("campaign_pause", args=[campaign.pk]), **HTMX).content.decode()
    assert "Nothing changed" in html
    assert "is completed and cannot become paused" in html


def test_state_changes_refuse_a_post_without_csrf_token(operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    campaign = _ready_campaign()
    response = client.post(reverse("campaign_start", args=[campaign.pk]), **HTMX)
    assert response.status_code == 403
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.DRAFT
    assert Message.objects.count() == 0
    unknown = MessageFactory(status=MessageStatus.UNKNOWN)
    url = reverse("message_resolve", args=[unknown.campaign_id, unknown.pk])
    assert client.post(url, {"outcome": "sent"}, **HTMX).status_code == 403
    unknown.refresh_from_db()
    assert unknown.status == MessageStatus.UNKNOWN


def test_state_changes_accept_the_csrf_header_htmx_sends(operator):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    campaign = _ready_campaign()
    token = client.get(reverse("campaign_detail", args=[campaign.pk])).cookies["csrftoken"].value
    response = client.post(
        reverse("campaign_start", args=[campaign.pk]), HTTP_X_CSRFTOKEN=token, **HTMX
    )
    assert response.status_code == 200
    campaign.refresh_from_db()
    assert campaign.status == CampaignStatus.RUNNING


def test_unknown_messages_raise_a_banner_linking_to_them(logged_in):
    campaign = running_campaign(pending=1, unknown=2)
    html = logged_in.get(reverse("campaign_progress", args=[campaign.pk])).content.decode()
    assert "2 messages in doubt." in html
    assert f"{reverse('campaign_detail', args=[campaign.pk])}?status=unknown" in html


# --- the message table ------------------------------------------------------------------------


def test_the_message_table_filters_by_status_as_a_fragment(logged_in):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    MessageFactory(campaign=campaign, debtor=DebtorFactory(name="Failing Fabio"), status="failed")
    MessageFactory(campaign=campaign, debtor=DebtorFactory(name="Sent Sara"), status="sent")
    url = reverse("campaign_detail", args=[campaign.pk])
    html = logged_in.get(url, {"status": "failed"}, **HTMX).content.decode()
    assert html.lstrip().startswith('<section id="campaign-messages"')
    assert PAGE_CHROME not in html
    assert "Failing Fabio" in html
    assert "Sent Sara" not in html
    html = logged_in.get(url).content.decode()
    assert "Failing Fabio" in html
    assert "Sent Sara" in html


def test_the_message_table_pages_on_with_its_filter(logged_in):
    campaign = running_campaign(failed=51, sent=1)
    url = reverse("campaign_detail", args=[campaign.pk])
    first = logged_in.get(url, {"status": "failed"}, **HTMX).content.decode()
    assert first.count('<tr id="message-') == 50
    last_failed = campaign.messages.filter(status="failed").order_by("debtor_id").last()
    cursor = campaign.messages.filter(status="failed").order_by("debtor_id")[49].debtor_id
    assert f"?status=failed&amp;after={cursor}" in first
    second = logged_in.get(url, {"status": "failed", "after": cursor}, **HTMX).content.decode()
    assert second.count('<tr id="message-') == 1
    assert f'<tr id="message-{last_failed.pk}"' in second
    assert "First page" in second


def test_in_progress_groups_claimed_and_sending(logged_in):
    campaign = running_campaign(pending=1, claimed=1, sending=1)
    url = reverse("campaign_detail", args=[campaign.pk])
    html = logged_in.get(url, {"status": "in_progress"}, **HTMX).content.decode()
    assert html.count('<tr id="message-') == 2


def test_unknown_messages_can_be_marked_sent(logged_in):
    campaign = running_campaign(pending=1, unknown=1)
    message = campaign.messages.get(status=MessageStatus.UNKNOWN)
    url = reverse("message_resolve", args=[campaign.pk, message.pk])
    response = logged_in.post(url, {"outcome": "sent"}, **HTMX)
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT
    assert message.sent_at is not None
    html = response.content.decode()
    assert html.lstrip().startswith(f'<tr id="message-{message.pk}"')
    assert "Mark sent" not in html
    assert "messages-changed" in response.headers["HX-Trigger"]


def test_unknown_messages_can_be_resent_while_the_campaign_still_sends(logged_in):
    campaign = running_campaign(pending=1, unknown=1)
    message = campaign.messages.get(status=MessageStatus.UNKNOWN)
    url = reverse("message_resolve", args=[campaign.pk, message.pk])
    logged_in.post(url, {"outcome": "resend"}, **HTMX)
    message.refresh_from_db()
    assert message.status == MessageStatus.PENDING
    assert message.session is None


def test_a_finished_campaign_does_not_offer_to_resend(logged_in):
    campaign = running_campaign(status=CampaignStatus.COMPLETED, sent=1, unknown=1)
    message = campaign.messages.get(status=MessageStatus.UNKNOWN)
    detail = logged_in.get(reverse("campaign_detail", args=[campaign.pk]), {"status": "unknown"})
    assert 'value="resend"' not in detail.content.decode()
    url = reverse("message_resolve", args=[campaign.pk, message.pk])
    html = logged_in.post(url, {"outcome": "resend"}, **HTMX).content.decode()
    message.refresh_from_db()
    assert message.status == MessageStatus.UNKNOWN
    assert "a resent message would never go out" in html


def test_only_an_unknown_message_can_be_resolved(logged_in):
    message = MessageFactory(status=MessageStatus.SENT)
    url = reverse("message_resolve", args=[message.campaign_id, message.pk])
    html = logged_in.post(url, {"outcome": "sent"}, **HTMX).content.decode()
    assert "Only a message in state “unknown” can be resolved." in html


def test_resolving_needs_to_know_what_the_operator_found(logged_in):
    campaign = running_campaign(unknown=1)
    message = campaign.messages.get()
    url = reverse("message_resolve", args=[campaign.pk, message.pk])
    assert logged_in.post(url, {"outcome": "maybe"}, **HTMX).status_code == 400
    message.refresh_from_db()
    assert message.status == MessageStatus.UNKNOWN


def test_without_javascript_resolving_goes_back_to_the_unknown_messages(logged_in):
    campaign = running_campaign(unknown=1)
    message = campaign.messages.get()
    url = reverse("message_resolve", args=[campaign.pk, message.pk])
    response = logged_in.post(url, {"outcome": "sent"})
    detail = reverse("campaign_detail", args=[campaign.pk])
    assert response.url == f"{detail}?status=unknown#campaign-messages"
    message.refresh_from_db()
    assert message.status == MessageStatus.SENT


def test_a_message_is_resolved_only_through_its_own_campaign(logged_in):
    message = MessageFactory(status=MessageStatus.UNKNOWN)
    url = reverse("message_resolve", args=[CampaignFactory().pk, message.pk])
    assert logged_in.post(url, {"outcome": "sent"}).status_code == 404
    message.refresh_from_db()
    assert message.status == MessageStatus.UNKNOWN


# --- exports ----------------------------------------------------------------------------------


def test_a_campaigns_messages_export_as_escaped_csv_and_xlsx(client, supervisor):
    campaign = CampaignFactory()
    debtor = DebtorFactory(name="@evil", phone_e164="+573001234567")
    MessageFactory(campaign=campaign, debtor=debtor, body="=HYPERLINK(1)", status="sent")
    MessageFactory()  # another campaign's message is not exported
    client.force_login(supervisor)

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


# --- results ----------------------------------------------------------------------------------


def test_the_list_and_the_page_show_replies_opt_outs_and_promises(client, viewer):
    campaign = CampaignFactory(name="Diciembre")
    for n in range(4):
        make = replied_message if n == 0 else MessageFactory
        make(campaign=campaign, status=MessageStatus.READ, sent_at=timezone.now())
    client.force_login(viewer)
    listing = client.get(reverse("campaign_list")).content.decode()
    assert '<th scope="col">Results</th>' in listing
    assert "25.0%" in listing
    page = client.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert 'id="outcomes-heading"' in page
    assert "Shares of the 4 messages sent." in page
    assert "25.0%" in page


# --- variants, placeholders in both languages, local money and dates ------------------------


def test_creating_saves_the_variants_typed_and_drops_the_blank_ones(logged_in):
    pool = PoolFactory()
    data = _form_data(
        pool,
        template="Hola {nombre}",
        variants=["{Buenos días|Buenas tardes} {name}", "   ", ""],
        locale="es_MX",
        date_style="long",
    )
    response = logged_in.post(reverse("campaign_create"), data)
    campaign = Campaign.objects.get()
    assert response.url == reverse("campaign_detail", args=[campaign.pk])
    assert campaign.templates == ["Hola {nombre}", "{Buenos días|Buenas tardes} {name}"]
    assert (campaign.locale, campaign.date_style) == ("es_MX", "long")


def test_a_form_without_text_format_fields_gets_the_colombian_defaults(logged_in):
    logged_in.post(reverse("campaign_create"), _form_data(PoolFactory()))
    campaign = Campaign.objects.get()
    assert (campaign.variants, campaign.locale, campaign.date_style) == ([], "es_CO", "short")


def test_a_broken_variant_is_named_by_its_number_and_kept_in_its_box(logged_in):
    data = _form_data(PoolFactory(), variants=["Dos {name}", "{Tres|{Three|3}}"])
    html = logged_in.post(reverse("campaign_create"), data).content.decode()
    assert "Variant 3: Spintax groups cannot hold other groups" in html
    assert ">{Tres|{Three|3}}</textarea>" in html
    assert ">Dos {name}</textarea>" in html
    assert Campaign.objects.count() == 0


def test_the_edit_page_shows_each_variant_in_its_box_and_saving_replaces_them(logged_in):
    campaign = _ready_campaign(template="Uno", variants=["Dos", "Tres"])
    url = reverse("campaign_edit", args=[campaign.pk])
    html = logged_in.get(url).content.decode()
    assert (
        '<textarea name="variants" id="id_variants_1" rows="5" class="template-editor">Dos' in html
    )
    assert (
        '<textarea name="variants" id="id_variants_2" rows="5" class="template-editor">Tres' in html
    )
    logged_in.post(url, _form_data(campaign.pool, template="Uno", variants=["Tres"]))
    campaign.refresh_from_db()
    assert campaign.templates == ["Uno", "Tres"]


def test_the_preview_shows_every_variant_and_marks_the_one_the_debtor_gets(logged_in):
    pool = PoolFactory()
    PoolMemberFactory(pool=pool)
    DebtorFactory(name="Ana Ríos", amount=Decimal("1030000"))
    data = _form_data(pool, template="Hola {nombre}: {saldo}", variants=["Buenas {name}"])
    html = logged_in.post(reverse("campaign_preview"), data, **HTMX).content.decode()
    assert '<p class="bubble">Hola Ana Ríos: $1.030.000</p>' in html
    assert '<p class="bubble">Buenas Ana Ríos</p>' in html
    assert html.count("variant-chosen") == 1
    assert "this debtor gets it" in html


def test_the_preview_writes_money_and_dates_as_the_chosen_locale(logged_in):
    pool = PoolFactory()
    PoolMemberFactory(pool=pool)
    DebtorFactory(amount=Decimal("1030000"), currency="USD", due_date="2026-12-15")
    data = _form_data(
        pool, template="{saldo} al {vence}", locale="en_US", date_style="long", variants=[]
    )
    html = logged_in.post(reverse("campaign_preview"), data, **HTMX).content.decode()
    assert '<p class="bubble">$1,030,000.00 al December 15, 2026</p>' in html


def test_the_chips_use_spanish_names_when_the_operator_works_in_spanish(logged_in, settings):
    PoolFactory()
    settings.LANGUAGE_CODE = "es"
    html = logged_in.get(reverse("campaign_create"), HTTP_ACCEPT_LANGUAGE="es").content.decode()
    for name in ("nombre", "saldo", "vence", "referencia", "telefono", "moneda"):
        assert f'data-placeholder="{name}"' in html
    assert 'data-placeholder="amount"' not in html


def test_a_draft_with_variants_shows_each_one_for_its_sample_debtor(logged_in):
    campaign = _ready_campaign(template="Uno {name}", variants=["Dos {name}"])
    html = logged_in.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert html.count('<li class="variant-preview') == 2
    assert "<h4>Variant 2</h4>" in html
    assert '<pre class="template-text">Dos {name}</pre>' in html


def test_the_page_shows_results_per_variant_only_when_there_are_variants(logged_in):
    campaign = running_campaign(pending=0)
    campaign.variants = ["Dos"]
    campaign.save()
    now = timezone.now()
    MessageFactory(
        campaign=campaign, variant=0, status=MessageStatus.READ, sent_at=now, read_at=now
    )
    replied_message(campaign=campaign, variant=1, status=MessageStatus.SENT, sent_at=now)
    html = logged_in.get(reverse("campaign_detail", args=[campaign.pk])).content.decode()
    assert "Results by variant" in html
    row = html.split('id="variant-2-results">')[1].split("</tr>")[0]
    cells = [cell.split("<")[0] for cell in row.split('<td class="num">')[1:]]
    assert cells == ["1", "0", "1", "0"]

    single = running_campaign(pending=0)
    html = logged_in.get(reverse("campaign_detail", args=[single.pk])).content.decode()
    assert "Results by variant" not in html


# --- Spanish -------------------------------------------------------------------------------

SPANISH = {"HTTP_ACCEPT_LANGUAGE": "es"}


def test_a_draft_reads_in_spanish_for_a_spanish_browser(logged_in):
    draft = _ready_campaign(debtors=3)
    html = logged_in.get(reverse("campaign_detail", args=[draft.pk]), **SPANISH).content.decode()
    assert "Aún sin iniciar" in html
    assert ">borrador</span>" in html
    assert "¿Iniciar ahora el envío a 3 deudores?" in html
    assert ">Iniciar el envío</button>" in html
    assert "Start sending" not in html


def test_a_running_campaign_counts_its_messages_in_spanish(logged_in):
    campaign = running_campaign(pending=2, sent=1)
    url = reverse("campaign_detail", args=[campaign.pk])
    html = logged_in.get(url, **SPANISH).content.decode()
    assert "Enviando · faltan 2" in html
    assert ">Pendientes <span" in html
    assert ">pendiente</span>" in html
    assert "Sending ·" in logged_in.get(url).content.decode()


def test_a_spanish_page_writes_the_day_before_the_month(logged_in):
    campaign = running_campaign(pending=1)
    started = timezone.localtime(campaign.started_at)
    month = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sep", "oct", "nov", "dic"][
        started.month - 1
    ]
    url = reverse("campaign_detail", args=[campaign.pk])
    html = logged_in.get(url, **SPANISH).content.decode()
    assert f"iniciada el {started.day} {month}, {started:%H:%M}" in html
    english = logged_in.get(url).content.decode()
    assert f"started {started:%b} {started.day}, {started:%H:%M}" in english


def test_the_form_says_what_to_fix_in_spanish(logged_in):
    pool = PoolFactory()
    data = _form_data(pool, template="Hola {name", amount_min="10", amount_max="5")
    html = logged_in.post(reverse("campaign_create"), data, **SPANISH).content.decode()
    assert "que nunca se cierra: ciérrela con }" in html
    assert "Debe ser al menos el “monto desde”." in html
    assert "Texto del mensaje" in html
    assert Campaign.objects.count() == 0


def test_a_refused_start_gives_its_reasons_in_spanish(logged_in):
    pool = PoolFactory()
    DebtorFactory()
    draft = CampaignFactory(pool=pool)
    response = logged_in.post(reverse("campaign_start", args=[draft.pk]), **HTMX, **SPANISH)
    html = response.content.decode()
    assert "La campaña no se inició:" in html
    assert f"El grupo de cuentas “{pool}” no tiene ninguna cuenta habilitada." in html
    draft.refresh_from_db()
    assert draft.status == CampaignStatus.DRAFT


def test_every_campaign_page_reads_in_spanish(logged_in):
    draft = _ready_campaign()
    pages = {
        reverse("campaign_list"): "<h1>Campañas</h1>",
        reverse("campaign_create"): "<h1>Campaña nueva</h1>",
        reverse("campaign_edit", args=[draft.pk]): "<h1>Editar el borrador</h1>",
    }
    for url, spanish in pages.items():
        response = logged_in.get(url, **SPANISH)
        assert response.status_code == 200, url
        assert spanish in response.content.decode(), url
