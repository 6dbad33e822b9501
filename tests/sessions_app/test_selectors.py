import datetime

import pytest
from django.utils import timezone

from sessions_app.selectors import session_is_held
from tests.factories import WhatsAppSessionFactory


@pytest.mark.parametrize(
    ("host", "heartbeat_seconds_ago", "held"),
    [
        ("browser-1", 5, True),
        ("browser-1", 59, True),
        ("browser-1", 61, False),
        ("browser-1", None, False),
        ("", 5, False),
    ],
)
def test_an_account_is_held_only_by_a_host_with_a_recent_heartbeat(
    db, settings, host, heartbeat_seconds_ago, held
):
    settings.HOST_STALE_SECONDS = 60
    heartbeat = (
        None
        if heartbeat_seconds_ago is None
        else timezone.now() - datetime.timedelta(seconds=heartbeat_seconds_ago)
    )
    session = WhatsAppSessionFactory(host=host, heartbeat_at=heartbeat)

    assert session_is_held(session=session) is held
