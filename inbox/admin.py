from django.contrib import admin
from django.http import HttpRequest

from inbox.models import Conversation, ConversationNote, IncomingMessage, QuickReply


@admin.register(QuickReply)
class QuickReplyAdmin(admin.ModelAdmin[QuickReply]):
    list_display = ["title", "updated_at", "created_by"]
    search_fields = ["title", "text"]


class ConversationNoteInline(admin.TabularInline[ConversationNote, Conversation]):
    """What the system did in the conversation (an answer handed to another account)."""

    model = ConversationNote
    fields = ["created_at", "text", "message"]
    readonly_fields = ["created_at", "text", "message"]
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Conversation | None = None) -> bool:
        return False


@admin.register(Conversation)
class ConversationAdmin(admin.ModelAdmin[Conversation]):
    inlines = [ConversationNoteInline]
    list_display = ["debtor", "unread_count", "assigned_to", "last_session", "last_activity_at"]
    list_select_related = ["debtor", "assigned_to", "last_session"]
    raw_id_fields = ["debtor"]
    readonly_fields = ["unread_count", "last_activity_at", "last_incoming_at", "preview"]


@admin.register(IncomingMessage)
class IncomingMessageAdmin(admin.ModelAdmin[IncomingMessage]):
    list_display = ["received_at", "sender_phone", "session", "text", "media"]
    list_select_related = ["session"]
    raw_id_fields = ["conversation", "in_reply_to"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(
        self, request: HttpRequest, obj: IncomingMessage | None = None
    ) -> bool:
        return False
