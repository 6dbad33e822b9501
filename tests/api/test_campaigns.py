from campaigns.models import CampaignStatus, MessageStatus
from tests.factories import (
    CampaignFactory,
    DebtorFactory,
    MessageFactory,
    PoolMemberFactory,
    running_campaign,
)


def test_a_draft_is_created_and_started_once_a_second_start_is_a_409(api):
    member = PoolMemberFactory()
    DebtorFactory.create_batch(2)
    created = api.post_json(
        "/api/v1/campaigns/",
        {"name": "Dec", "template": "Hola {name}", "pool": member.pool_id, "audience": {}},
    )
    assert created.status_code == 201, created.content
    pk = created.json()["id"]
    preview = api.get(f"/api/v1/campaigns/{pk}/preview/").json()
    assert preview["audience_count"] == 2
    assert preview["sample"].startswith("Hola ")
    assert api.post_json(f"/api/v1/campaigns/{pk}/start/").json()["status"] == "running"
    again = api.post_json(f"/api/v1/campaigns/{pk}/start/")
    assert again.status_code == 409
    assert again.json()["current_status"] == CampaignStatus.RUNNING
    progress = api.get(f"/api/v1/campaigns/{pk}/progress/").json()
    assert progress["total"] == 2
    assert progress["counts"]["pending"] == 2


def test_the_campaign_form_rules_apply(api):
    member = PoolMemberFactory()
    response = api.post_json(
        "/api/v1/campaigns/",
        {"name": "X", "template": "Hola {name", "pool": member.pool_id, "audience": {"bogus": 1}},
    )
    assert response.status_code == 422
    assert "audience" in response.json()["errors"]


def test_pause_and_resume_follow_the_state_machine(api):
    campaign = running_campaign(pending=1)
    assert api.post_json(f"/api/v1/campaigns/{campaign.pk}/pause/").status_code == 200
    refused = api.post_json(f"/api/v1/campaigns/{campaign.pk}/pause/")
    assert refused.status_code == 409
    assert refused.json()["current_status"] == "paused"
    assert api.post_json(f"/api/v1/campaigns/{campaign.pk}/resume/").json()["status"] == "running"


def test_an_edit_of_a_started_campaign_is_a_409(api):
    campaign = CampaignFactory(status=CampaignStatus.RUNNING)
    PoolMemberFactory(pool=campaign.pool)
    response = api.put(
        f"/api/v1/campaigns/{campaign.pk}/",
        {"name": "New", "template": "Hola", "pool": campaign.pool_id},
        content_type="application/json",
    )
    assert response.status_code == 409


def test_messages_sync_by_updated_since(api):
    campaign = running_campaign(sent=2, read=1)
    MessageFactory(status=MessageStatus.PENDING)
    first = api.get(
        "/api/v1/messages/", {"campaign": campaign.pk, "updated_since": "2000-01-01T00:00:00Z"}
    )
    body = first.json()
    assert len(body["results"]) == 3
    assert body["next_cursor"]  # kept by the client to ask for what changed since
    later = api.get(
        "/api/v1/messages/",
        {
            "campaign": campaign.pk,
            "cursor": body["next_cursor"],
            "updated_since": "2000-01-01T00:00:00Z",
        },
    )
    assert later.json()["results"] == []
