"""Every main page in real headless Chromium under the Content-Security-Policy: nothing the
pages need is refused (a refusal is reported on the browser console)."""

import pytest

from tests.e2e.test_operator_console import PASSWORD, log_in, visible, wait_for
from tests.factories import (
    CampaignFactory,
    ConversationFactory,
    DebtorFactory,
    MessageFactory,
    PoolMemberFactory,
    QuickReplyFactory,
    SystemLogFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db(transaction=True)


def _violations(browser):
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if "Content Security Policy" in entry["message"] or "Refused to" in entry["message"]
    ]


def test_no_page_breaks_the_content_security_policy(live_url, new_browser):
    admin = UserFactory(is_staff=True, is_superuser=True, password=PASSWORD)
    member = PoolMemberFactory()
    campaign = CampaignFactory(pool=member.pool, status="running")
    debtor = DebtorFactory()
    MessageFactory(campaign=campaign, debtor=debtor, status="sent")
    draft = CampaignFactory(pool=member.pool)
    SystemLogFactory()
    conversation = ConversationFactory(debtor=debtor, last_session=member.session)
    QuickReplyFactory()
    browser = new_browser()
    log_in(browser, live_url, admin)
    pages = [
        "/",
        "/sessions/",
        f"/sessions/{member.session_id}/",
        "/pools/",
        f"/pools/{member.pool_id}/",
        "/campaigns/",
        f"/campaigns/{campaign.pk}/",
        f"/campaigns/{draft.pk}/",
        "/campaigns/new/",
        f"/campaigns/{draft.pk}/edit/",
        "/debtors/",
        f"/debtors/{debtor.pk}/",
        "/debtors/imports/new/",
        "/debtors/promises/broken/",
        "/logs/",
        "/inbox/",
        f"/inbox/{conversation.pk}/",
        "/inbox/quick-replies/",
        "/admin/",
        "/admin/campaigns/campaign/",
    ]
    seen = {}
    for page in pages:
        browser.get(live_url + page)
        visible(browser, "main, #content")
        # Live areas connect their sockets and fetch their fragments after the load.
        wait_for(browser, lambda b: b.execute_script("return document.readyState") == "complete")
        browser.execute_script("return new Promise(done => setTimeout(done, 1500))")
        seen[page] = _violations(browser)
    assert {page: found for page, found in seen.items() if found} == {}
    # The progress bar got its width from the script, not from a style attribute.
    browser.get(f"{live_url}/campaigns/{campaign.pk}/")
    bar = visible(browser, ".progress-large [data-percent]")
    assert bar.get_attribute("style") == "width: 100%;"
