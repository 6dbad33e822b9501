import datetime

import pytest
from django.contrib.sessions.models import Session
from django.urls import reverse
from django.utils import timezone

from whatsmassive.user_sessions import LAST_SEEN_KEY, sessions_end_expired

pytestmark = pytest.mark.django_db


def _session(client):
    return Session.objects.get(session_key=client.session.session_key)


def test_a_session_ends_after_the_idle_time(client, operator, settings):
    settings.SESSION_IDLE_MINUTES = 30
    client.force_login(operator)
    assert client.get(reverse("dashboard")).status_code == 200
    expires = _session(client).expire_date
    assert abs(expires - (timezone.now() + datetime.timedelta(minutes=30))) < datetime.timedelta(
        seconds=30
    )

    Session.objects.filter(pk=_session(client).pk).update(expire_date=timezone.now())
    response = client.get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_using_the_session_pushes_its_end_further(client, operator, settings):
    settings.SESSION_IDLE_MINUTES = 30
    client.force_login(operator)
    client.get(reverse("dashboard"))
    session = client.session
    session[LAST_SEEN_KEY] = (timezone.now() - datetime.timedelta(minutes=2)).isoformat()
    session.save()
    soon = timezone.now() + datetime.timedelta(minutes=3)
    Session.objects.filter(session_key=session.session_key).update(expire_date=soon)

    assert client.get(reverse("campaign_list")).status_code == 200
    assert _session(client).expire_date > timezone.now() + datetime.timedelta(minutes=29)


def test_ending_expired_sessions_keeps_the_live_ones(client, operator):
    client.force_login(operator)
    client.get(reverse("dashboard"))
    live = client.session.session_key
    Session.objects.create(
        session_key="x" * 32, session_data="", expire_date=timezone.now() - datetime.timedelta(1)
    )
    assert sessions_end_expired() == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [live]
