from collections.abc import Callable

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from sessions_app.models import Pool, PoolMember, WhatsAppSession
from sessions_app.services import (
    session_connect,
    session_disconnect,
    session_logout,
    session_simulate_scan,
)
from whatsmassive.admin_actions import apply_to_each


def _each(
    model_admin: admin.ModelAdmin[WhatsAppSession],
    request: HttpRequest,
    queryset: QuerySet[WhatsAppSession],
    service: Callable[..., object],
    verb: str,
) -> None:
    apply_to_each(
        model_admin,
        request,
        queryset,
        lambda session: service(session=session, by=request.user),
        perm="sessions_app.manage_accounts",
        refusals=(ValueError,),
        done="{} account(s) " + verb + ".",
    )


@admin.register(WhatsAppSession)
class WhatsAppSessionAdmin(admin.ModelAdmin[WhatsAppSession]):
    list_display = [
        "name",
        "phone_e164",
        "status",
        "host",
        "heartbeat_at",
        "min_delay_seconds",
        "max_delay_seconds",
        "hourly_cap",
        "daily_cap",
        "health_score",
        "sent_count",
        "failed_count",
    ]
    list_filter = ["status", "host"]
    search_fields = ["name", "phone_e164"]
    readonly_fields = [
        "status",
        "status_detail",
        "qr_payload",
        "qr_updated_at",
        "profile_dir",
        "host",
        "heartbeat_at",
        "connected_at",
        "next_send_at",
        "sent_count",
        "failed_count",
        "created_at",
        "updated_at",
        "linked_at",
        "health_score",
        "health_parts",
        "health_at",
        "paused_reason",
    ]
    fieldsets = [
        (None, {"fields": ["name", "phone_e164"]}),
        (
            "Pacing",
            {
                "fields": [
                    ("min_delay_seconds", "max_delay_seconds"),
                    ("hourly_cap", "daily_cap"),
                    ("active_from", "active_until", "time_zone"),
                    "next_send_at",
                ]
            },
        ),
        (
            "Connection",
            {
                "fields": [
                    "status",
                    "status_detail",
                    "host",
                    "heartbeat_at",
                    "connected_at",
                    "profile_dir",
                    "qr_updated_at",
                    "qr_payload",
                ]
            },
        ),
        (
            _("Account safety"),
            {
                "fields": [
                    ("new_chats_per_day", "linked_at"),
                    ("health_score", "health_at"),
                    "health_parts",
                    "paused_reason",
                ]
            },
        ),
        ("Counters", {"fields": ["sent_count", "failed_count", "created_at", "updated_at"]}),
    ]
    actions = ["connect", "disconnect", "logout", "simulate_scan"]

    @admin.action(description=_("Connect selected accounts (start their session hosts)"))
    def connect(self, request: HttpRequest, queryset: QuerySet[WhatsAppSession]) -> None:
        _each(self, request, queryset, session_connect, "connecting")

    @admin.action(description=_("Disconnect selected accounts (keep their WhatsApp link)"))
    def disconnect(self, request: HttpRequest, queryset: QuerySet[WhatsAppSession]) -> None:
        _each(self, request, queryset, session_disconnect, "disconnecting")

    @admin.action(description=_("Log out selected accounts (unlink; a new QR scan is needed)"))
    def logout(self, request: HttpRequest, queryset: QuerySet[WhatsAppSession]) -> None:
        _each(self, request, queryset, session_logout, "logging out")

    @admin.action(description=_("Sandbox: simulate the phone scanning the QR code"))
    def simulate_scan(self, request: HttpRequest, queryset: QuerySet[WhatsAppSession]) -> None:
        _each(self, request, queryset, session_simulate_scan, "scanned")


class PoolMemberInline(admin.TabularInline[PoolMember, Pool]):
    model = PoolMember
    extra = 1
    autocomplete_fields = ["session"]
    fields = ["position", "session", "enabled", "weight"]


@admin.register(Pool)
class PoolAdmin(admin.ModelAdmin[Pool]):
    list_display = ["name", "strategy", "member_count", "enabled_count", "created_at"]
    list_filter = ["strategy"]
    search_fields = ["name", "description"]
    inlines = [PoolMemberInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Pool]:
        return (
            super()
            .get_queryset(request)
            .annotate(
                member_count=Count("members"),
                enabled_count=Count("members", filter=Q(members__enabled=True)),
            )
        )

    @admin.display(description=_("members"), ordering="member_count")
    def member_count(self, pool: Pool) -> int:
        return int(pool.member_count)  # type: ignore[attr-defined]

    @admin.display(description=_("enabled"), ordering="enabled_count")
    def enabled_count(self, pool: Pool) -> int:
        return int(pool.enabled_count)  # type: ignore[attr-defined]


@admin.register(PoolMember)
class PoolMemberAdmin(admin.ModelAdmin[PoolMember]):
    list_display = ["pool", "position", "session", "enabled", "weight"]
    list_filter = ["pool", "enabled"]
    list_editable = ["enabled", "weight"]
    search_fields = ["pool__name", "session__name"]
    autocomplete_fields = ["pool", "session"]
