import pytest
from django.conf import settings

from campaigns.models import MessageStatus
from sessions_app.models import WhatsAppSession
from sessions_app.tasks import refresh_account_health
from tests.factories import MessageFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


def test_beat_refreshes_the_health_scores_every_few_minutes():
    entry = settings.CELERY_BEAT_SCHEDULE["refresh-account-health"]
    assert entry["task"] == refresh_account_health.name
    assert entry["schedule"] == settings.WHATSAPP_HEALTH_REFRESH_SECONDS
    account = WhatsAppSessionFactory()
    for _ in range(20):
        MessageFactory(session=account, status=MessageStatus.UNKNOWN)
    refresh_account_health()
    assert WhatsAppSession.objects.get(pk=account.pk).health_score == 80
