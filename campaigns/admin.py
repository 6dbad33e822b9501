from collections.abc import Callable

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from campaigns.models import Campaign, ContactPolicy, Message, MessageStatus
from campaigns.selectors import FINAL_STATUSES
from campaigns.services import (
    CampaignStartRefused,
    CampaignTransitionError,
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_start,
    message_resolve_unknown,
)
from whatsmassive.admin_actions import apply_to_each


def _apply(
    model_admin: admin.ModelAdmin[Campaign],
    request: HttpRequest,
    queryset: QuerySet[Campaign],
    service: Callable[..., Campaign],
    done: str,
) -> None:
    apply_to_each(
        model_admin,
        request,
        queryset,
        lambda campaign: service(campaign=campaign, by=request.user),
        perm="campaigns.run_campaign",
        refusals=(CampaignTransitionError, CampaignStartRefused),
        done=done,
    )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin[Campaign]):
    list_display = [
        "name",
        "pool",
        "status",
        "message_total",
        "message_done",
        "message_failed",
        "created_by",
        "created_at",
    ]
    list_filter = ["status", "pool"]
    search_fields = ["name", "template"]
    date_hierarchy = "created_at"
    autocomplete_fields = ["pool"]
    readonly_fields = [
        "status",
        "status_detail",
        "created_by",
        "created_at",
        "updated_at",
        "started_at",
        "finished_at",
        "message_total",
        "message_done",
        "message_failed",
    ]
    actions = ["start", "pause", "resume", "cancel"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Campaign]:
        return (
            super()
            .get_queryset(request)
            .select_related("pool", "created_by")
            .annotate(
                message_total=Count("messages"),
                message_done=Count("messages", filter=Q(messages__status__in=FINAL_STATUSES)),
                message_failed=Count("messages", filter=Q(messages__status=MessageStatus.FAILED)),
            )
        )

    def save_model(self, request: HttpRequest, obj: Campaign, form: object, change: bool) -> None:
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)

    @admin.display(description=_("messages"), ordering="message_total")
    def message_total(self, campaign: Campaign) -> int:
        return int(campaign.message_total)  # type: ignore[attr-defined]

    @admin.display(description=_("done"), ordering="message_done")
    def message_done(self, campaign: Campaign) -> int:
        return int(campaign.message_done)  # type: ignore[attr-defined]

    @admin.display(description=_("failed"), ordering="message_failed")
    def message_failed(self, campaign: Campaign) -> int:
        return int(campaign.message_failed)  # type: ignore[attr-defined]

    @admin.action(description=_("Start selected campaigns"))
    def start(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        _apply(self, request, queryset, campaign_start, gettext("{} campaign(s) started."))

    @admin.action(description=_("Pause selected campaigns"))
    def pause(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        _apply(self, request, queryset, campaign_pause, gettext("{} campaign(s) paused."))

    @admin.action(description=_("Resume selected campaigns"))
    def resume(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        _apply(self, request, queryset, campaign_resume, gettext("{} campaign(s) resumed."))

    @admin.action(description=_("Cancel selected campaigns (skip unsent messages)"))
    def cancel(self, request: HttpRequest, queryset: QuerySet[Campaign]) -> None:
        _apply(self, request, queryset, campaign_cancel, gettext("{} campaign(s) cancelled."))


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin[Message]):
    list_display = [
        "id",
        "campaign",
        "debtor",
        "session",
        "status",
        "attempts",
        "sent_at",
        "last_error",
    ]
    list_filter = ["status", "campaign", "session"]
    search_fields = ["=debtor__phone_e164", "debtor__name", "=wa_message_id"]
    date_hierarchy = "created_at"
    raw_id_fields = ["campaign", "debtor", "session", "assigned_session"]
    list_select_related = ["campaign", "debtor", "session"]
    show_full_result_count = False
    # State changes go through the engine's services so the state machine stays whole.
    readonly_fields = [
        "status",
        "attempts",
        "last_error",
        "wa_message_id",
        "lease_until",
        "created_at",
        "updated_at",
        "claimed_at",
        "sent_at",
        "delivered_at",
        "read_at",
        "failed_at",
    ]

    actions = ["mark_sent", "resend"]

    def _resolve(self, request: HttpRequest, queryset: QuerySet[Message], *, sent: bool) -> None:
        apply_to_each(
            self,
            request,
            queryset,
            lambda message: message_resolve_unknown(message=message, sent=sent, by=request.user),
            perm="campaigns.run_campaign",
            refusals=(CampaignTransitionError,),
            done=gettext("{} message(s) resolved."),
        )

    @admin.action(description=_("Unknown messages: the phone shows them sent — mark sent"))
    def mark_sent(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        self._resolve(request, queryset, sent=True)

    @admin.action(description=_("Unknown messages: not on the phone — send again"))
    def resend(self, request: HttpRequest, queryset: QuerySet[Message]) -> None:
        self._resolve(request, queryset, sent=False)


@admin.register(ContactPolicy)
class ContactPolicyAdmin(admin.ModelAdmin[ContactPolicy]):
    """Windows are checked by the model (no overlaps, from before until, 00:00-24:00); the
    database keeps a single default."""

    list_display = ["name", "is_default", "holiday_country", "max_per_day", "opt_out_mode"]
    list_filter = ["is_default", "opt_out_mode"]
    search_fields = ["name"]
    readonly_fields = ["created_at", "updated_at"]
