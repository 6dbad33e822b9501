"""Writes of the sessions app: accounts (and their session hosts) and pools."""

from sessions_app.services.accounts import (
    DROPPED_OUT,
    STATUS_FOR_STATE,
    session_connect,
    session_create,
    session_disconnect,
    session_forget_profile,
    session_host_acquire,
    session_host_heartbeat,
    session_host_release,
    session_logout,
    session_record_state,
    session_simulate_scan,
    session_update_pacing,
    sessions_supervise,
)
from sessions_app.services.pools import (
    pool_create,
    pool_delete,
    pool_member_add,
    pool_member_move,
    pool_member_remove,
    pool_member_update,
    pool_update,
)
from sessions_app.services.requests import (
    session_request_pairing_code,
    session_request_takeover,
)
from sessions_app.services.safety import session_pause_unhealthy, sessions_refresh_health

__all__ = [
    "DROPPED_OUT",
    "STATUS_FOR_STATE",
    "pool_create",
    "pool_delete",
    "pool_member_add",
    "pool_member_move",
    "pool_member_remove",
    "pool_member_update",
    "pool_update",
    "session_connect",
    "session_create",
    "session_disconnect",
    "session_forget_profile",
    "session_host_acquire",
    "session_host_heartbeat",
    "session_host_release",
    "session_logout",
    "session_pause_unhealthy",
    "session_record_state",
    "session_request_pairing_code",
    "session_request_takeover",
    "session_simulate_scan",
    "session_update_pacing",
    "sessions_refresh_health",
    "sessions_supervise",
]
