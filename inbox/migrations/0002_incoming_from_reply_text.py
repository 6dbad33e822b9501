"""Replies stored on their message (Message.reply_text) become incoming messages.

Each message kept the debtor's latest reply from the account that sent it: one incoming
message per such reply, in the debtor's conversation, unread.
"""

from django.db import migrations


def replies_to_incoming(apps, schema_editor):
    Message = apps.get_model("campaigns", "Message")
    Conversation = apps.get_model("inbox", "Conversation")
    IncomingMessage = apps.get_model("inbox", "IncomingMessage")
    replied = (
        Message.objects.exclude(reply_text="")
        .select_related("debtor")
        .order_by("debtor_id", "replied_at", "id")
    )
    conversations = {}
    for message in replied.iterator(chunk_size=2000):
        at = message.replied_at or message.updated_at
        conversation = conversations.get(message.debtor_id)
        if conversation is None:
            conversation, _ = Conversation.objects.get_or_create(
                debtor_id=message.debtor_id, defaults={"last_activity_at": at}
            )
            conversations[message.debtor_id] = conversation
        IncomingMessage.objects.create(
            conversation=conversation,
            session_id=message.session_id,
            in_reply_to=message,
            sender_phone=message.debtor.phone_e164,
            text=message.reply_text,
            received_at=at,
        )
        conversation.last_activity_at = max(conversation.last_activity_at, at)
        conversation.last_incoming_at = conversation.last_activity_at
        conversation.preview = message.reply_text[:200]
        conversation.unread_count += 1
        conversation.last_session_id = message.session_id
        conversation.save()


def incoming_to_replies(apps, schema_editor):
    Message = apps.get_model("campaigns", "Message")
    IncomingMessage = apps.get_model("inbox", "IncomingMessage")
    for incoming in IncomingMessage.objects.exclude(in_reply_to=None).order_by("received_at"):
        Message.objects.filter(pk=incoming.in_reply_to_id).update(
            reply_text=incoming.text, replied_at=incoming.received_at
        )


class Migration(migrations.Migration):

    dependencies = [
        ("inbox", "0001_conversations"),
        ("campaigns", "0009_message_direct_kinds"),
    ]

    operations = [migrations.RunPython(replies_to_incoming, incoming_to_replies)]
