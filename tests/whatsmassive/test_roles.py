"""Every permission-gated view and admin action, against the role below it and the role at it.

Each case builds its objects, names the request and returns a snapshot of what the request
would change: the role below gets 403 and the same snapshot, the role at it gets through.
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone

from campaigns.models import Campaign, CampaignStatus, Message, MessageStatus
from debtors.models import Debtor
from sessions_app.models import Pool, PoolMember, WhatsAppSession
from tests.conftest import role_user
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    MessageFactory,
    PoolFactory,
    PoolMemberFactory,
    WhatsAppSessionFactory,
)
from whatsmassive import roles
from whatsmassive.models import SystemLog
from whatsmassive.roles import require

pytestmark = pytest.mark.django_db

BELOW = {roles.VIEWER: None, roles.OPERATOR: roles.VIEWER, roles.SUPERVISOR: roles.OPERATOR}


@dataclass
class Request:
    url: str
    data: dict[str, Any] | None = None  # None: a GET
    snapshot: Callable[[], object] = lambda: None
    htmx: bool = False


def _running_campaign() -> Campaign:
    member = PoolMemberFactory.create()
    return CampaignFactory.create(pool=member.pool, status=CampaignStatus.RUNNING)


def _status(campaign: Campaign) -> Callable[[], object]:
    return lambda: Campaign.objects.get(pk=campaign.pk).status


def campaign_list() -> Request:
    return Request(reverse("campaign_list"))


def campaign_detail() -> Request:
    return Request(reverse("campaign_detail", args=[CampaignFactory.create().pk]))


def campaign_create() -> Request:
    pool = PoolFactory.create()
    data = {"name": "New", "template": "Hola {name}", "pool": pool.pk}
    return Request(reverse("campaign_create"), data, lambda: Campaign.objects.count())


def campaign_edit() -> Request:
    campaign = CampaignFactory.create()
    data = {"name": "Renamed", "template": "Hola {name}", "pool": campaign.pool_id}
    return Request(
        reverse("campaign_edit", args=[campaign.pk]),
        data,
        lambda: Campaign.objects.get(pk=campaign.pk).name,
    )


def campaign_pause() -> Request:
    campaign = _running_campaign()
    return Request(reverse("campaign_pause", args=[campaign.pk]), {}, _status(campaign), True)


def campaign_cancel() -> Request:
    campaign = _running_campaign()
    return Request(reverse("campaign_cancel", args=[campaign.pk]), {}, _status(campaign))


def message_resolve() -> Request:
    message = MessageFactory.create(campaign=_running_campaign(), status=MessageStatus.UNKNOWN)
    return Request(
        reverse("message_resolve", args=[message.campaign_id, message.pk]),
        {"outcome": "sent"},
        lambda: Message.objects.get(pk=message.pk).status,
        True,
    )


def campaign_message_export() -> Request:
    message = MessageFactory.create()
    return Request(
        reverse("campaign_message_export", args=[message.campaign_id, "csv"]),
        snapshot=lambda: SystemLog.objects.filter(source="whatsmassive.exports").count(),
    )


def debtor_list() -> Request:
    return Request(reverse("debtor_list"))


def debtor_opt_out() -> Request:
    debtor = DebtorFactory.create()
    return Request(
        reverse("debtor_opt_out", args=[debtor.pk]),
        {},
        lambda: Debtor.objects.get(pk=debtor.pk).opted_out,
        True,
    )


def debtor_bulk_opt_out() -> Request:
    debtor = DebtorFactory.create()
    return Request(
        reverse("debtor_bulk_opt_out"),
        {"ids": [debtor.pk]},
        lambda: Debtor.objects.get(pk=debtor.pk).opted_out,
    )


def debtor_export() -> Request:
    DebtorFactory.create()
    return Request(
        reverse("debtor_export", args=["csv"]) + "?q=a",
        snapshot=lambda: SystemLog.objects.filter(source="whatsmassive.exports").count(),
    )


def debtor_import_new() -> Request:
    return Request(reverse("debtor_import_new"))


def session_list() -> Request:
    return Request(reverse("session_list"))


def session_add() -> Request:
    return Request(
        reverse("session_add"), {"name": "Fresh"}, lambda: WhatsAppSession.objects.count(), True
    )


def session_disconnect() -> Request:
    session = WhatsAppSessionFactory.create(should_run=True)
    return Request(
        reverse("session_disconnect", args=[session.pk]),
        {},
        lambda: WhatsAppSession.objects.get(pk=session.pk).should_run,
        True,
    )


def session_logout() -> Request:
    session = WhatsAppSessionFactory.create()
    return Request(
        reverse("session_logout", args=[session.pk]),
        {},
        lambda: WhatsAppSession.objects.get(pk=session.pk).status,
    )


def session_pacing() -> Request:
    session = WhatsAppSessionFactory.create()
    data = {
        "min_delay_seconds": 5,
        "max_delay_seconds": 9,
        "hourly_cap": 10,
        "daily_cap": 20,
        "active_from": "08:00",
        "active_until": "18:00",
        "time_zone": "America/Bogota",
    }
    return Request(
        reverse("session_pacing", args=[session.pk]),
        data,
        lambda: WhatsAppSession.objects.get(pk=session.pk).max_delay_seconds,
        True,
    )


def pool_list() -> Request:
    return Request(reverse("pool_list"))


def pool_new() -> Request:
    return Request(
        reverse("pool_new"),
        {"name": "Fresh", "strategy": "competitive", "description": ""},
        lambda: Pool.objects.count(),
    )


def pool_delete() -> Request:
    PoolFactory.create()
    pool = PoolFactory.create()
    return Request(reverse("pool_delete", args=[pool.pk]), {}, lambda: Pool.objects.count())


def pool_member_remove() -> Request:
    member = PoolMemberFactory.create()
    return Request(
        reverse("pool_member_remove", args=[member.pool_id, member.pk]),
        {},
        lambda: PoolMember.objects.count(),
        True,
    )


def log_list() -> Request:
    return Request(reverse("log_list"))


VIEW_CASES = [
    (roles.VIEWER, campaign_list),
    (roles.VIEWER, campaign_detail),
    (roles.OPERATOR, campaign_create),
    (roles.OPERATOR, campaign_edit),
    (roles.OPERATOR, campaign_pause),
    (roles.OPERATOR, campaign_cancel),
    (roles.OPERATOR, message_resolve),
    (roles.SUPERVISOR, campaign_message_export),
    (roles.VIEWER, debtor_list),
    (roles.OPERATOR, debtor_opt_out),
    (roles.OPERATOR, debtor_bulk_opt_out),
    (roles.SUPERVISOR, debtor_export),
    (roles.OPERATOR, debtor_import_new),
    (roles.VIEWER, session_list),
    (roles.SUPERVISOR, session_add),
    (roles.SUPERVISOR, session_disconnect),
    (roles.SUPERVISOR, session_logout),
    (roles.SUPERVISOR, session_pacing),
    (roles.VIEWER, pool_list),
    (roles.SUPERVISOR, pool_new),
    (roles.SUPERVISOR, pool_delete),
    (roles.SUPERVISOR, pool_member_remove),
    (roles.VIEWER, log_list),
]


def _send(client: Any, request: Request) -> Any:
    headers = {"HTTP_HX_REQUEST": "true"} if request.htmx else {}
    if request.data is None:
        return client.get(request.url, **headers)
    return client.post(request.url, request.data, **headers)


@pytest.mark.parametrize(
    ("role", "case"), VIEW_CASES, ids=[case.__name__ for _role, case in VIEW_CASES]
)
def test_a_view_refuses_the_role_below_and_allows_the_role_at_it(client, role, case):
    request = case()
    before = request.snapshot()
    client.force_login(role_user(BELOW[role]))

    refused = _send(client, request)

    assert refused.status_code == 403
    assert request.snapshot() == before
    if request.htmx:
        assert refused["HX-Retarget"] == "#flash-area"
        assert b"Your role does not allow this" in refused.content
    else:
        assert b"Not allowed" in refused.content

    client.force_login(role_user(role))
    allowed = _send(client, request)

    assert allowed.status_code in {200, 302}
    if request.data is not None or request.snapshot() is not None:
        assert request.snapshot() != before


def _admin_user(role: str | None) -> Any:
    user = role_user(role)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    return user


def admin_campaign_pause() -> tuple[str, dict[str, Any], Callable[[], object]]:
    campaign = _running_campaign()
    data = {"action": "pause", "_selected_action": [campaign.pk]}
    return reverse("admin:campaigns_campaign_changelist"), data, _status(campaign)


def admin_message_mark_sent() -> tuple[str, dict[str, Any], Callable[[], object]]:
    message = MessageFactory.create(campaign=_running_campaign(), status=MessageStatus.UNKNOWN)
    data = {"action": "mark_sent", "_selected_action": [message.pk]}
    return (
        reverse("admin:campaigns_message_changelist"),
        data,
        lambda: Message.objects.get(pk=message.pk).status,
    )


def admin_debtor_opt_out() -> tuple[str, dict[str, Any], Callable[[], object]]:
    debtor = DebtorFactory.create()
    data = {"action": "opt_out", "_selected_action": [debtor.pk]}
    return (
        reverse("admin:debtors_debtor_changelist"),
        data,
        lambda: Debtor.objects.get(pk=debtor.pk).opted_out,
    )


def admin_session_logout() -> tuple[str, dict[str, Any], Callable[[], object]]:
    session = WhatsAppSessionFactory.create()
    data = {"action": "logout", "_selected_action": [session.pk]}
    return (
        reverse("admin:sessions_app_whatsappsession_changelist"),
        data,
        lambda: WhatsAppSession.objects.get(pk=session.pk).status,
    )


ADMIN_CASES = [
    (roles.OPERATOR, admin_campaign_pause),
    (roles.OPERATOR, admin_message_mark_sent),
    (roles.OPERATOR, admin_debtor_opt_out),
    (roles.SUPERVISOR, admin_session_logout),
]


@pytest.mark.parametrize(
    ("role", "case"), ADMIN_CASES, ids=[case.__name__ for _role, case in ADMIN_CASES]
)
def test_an_admin_action_refuses_the_role_below_and_allows_the_role_at_it(client, role, case):
    url, data, snapshot = case()
    before = snapshot()
    client.force_login(_admin_user(BELOW[role]))

    assert client.post(url, data).status_code == 403
    assert snapshot() == before

    client.force_login(_admin_user(role))
    assert client.post(url, data).status_code == 302
    assert snapshot() != before


def test_the_roles_hold_what_the_migration_gave_them():
    perms = {
        group.name: {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}
        for group in Group.objects.prefetch_related("permissions__content_type")
    }
    assert perms[roles.VIEWER] < perms[roles.OPERATOR] < perms[roles.SUPERVISOR]
    assert "campaigns.run_campaign" in perms[roles.OPERATOR] - perms[roles.VIEWER]
    assert {
        "sessions_app.manage_accounts",
        "sessions_app.manage_pools",
        "campaigns.export_messages",
        "debtors.export_debtors",
    } <= perms[roles.SUPERVISOR] - perms[roles.OPERATOR]
    assert all(perm.split(".")[1].startswith("view_") for perm in perms[roles.VIEWER])


def test_the_system_and_superusers_pass_and_inactive_users_do_not(staff_user):
    require(None, "campaigns.run_campaign")
    require(staff_user, "campaigns.run_campaign")
    operator = role_user(roles.OPERATOR)
    operator.is_active = False
    with pytest.raises(Exception, match="does not allow"):
        require(operator, "campaigns.run_campaign")


def test_a_debtor_export_is_recorded_with_who_what_filter_and_rows(client):
    DebtorFactory.create(name="Ana Gómez")
    DebtorFactory.create(name="Luis Pérez")
    supervisor = role_user(roles.SUPERVISOR)
    client.force_login(supervisor)
    start = timezone.now() - datetime.timedelta(seconds=1)

    response = client.get(reverse("debtor_export", args=["csv"]) + "?q=Ana")
    b"".join(response.streaming_content)

    record = SystemLog.objects.get(source="whatsmassive.exports")
    assert record.created_at >= start
    assert record.context["by"] == supervisor.username
    assert record.context["user_id"] == supervisor.pk
    assert record.context["export"] == "debtors"
    assert record.context["filters"] == {"q": "Ana", "format": "csv"}
    assert record.context["rows"] == 1
