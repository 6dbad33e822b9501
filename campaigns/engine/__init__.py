"""The sending engine: claim, send and settle messages, one account at a time.

PostgreSQL decides what was sent. Every transition of a message is a conditional UPDATE
that must change exactly one row, and `sending` is committed before the driver is touched:
if the process dies after that commit, the message becomes `unknown` and is never sent
again automatically. A message may be lost that way, never sent twice.

    pending -> claimed(lease) -> sending -> sent -> delivered -> read
                  |                  |  \\-> failed (permanent)
                  |                  \\-> unknown (crash after the click, or no confirmation)
                  \\-> pending (lease expired, attempts+1)
    pending/claimed -> skipped (opted out, campaign cancelled)
"""

from campaigns.engine.handover import (
    UNUSABLE_STATUSES,
    NobodyLeft,
    assign_members,
    messages_hand_over,
)
from campaigns.engine.pacing import Pacer
from campaigns.engine.receipts import messages_apply_acks, messages_apply_incoming
from campaigns.engine.sending import engine_send_next

__all__ = [
    "UNUSABLE_STATUSES",
    "NobodyLeft",
    "Pacer",
    "assign_members",
    "engine_send_next",
    "messages_apply_acks",
    "messages_apply_incoming",
    "messages_hand_over",
]
