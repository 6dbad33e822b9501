"""An operator's day, in real headless Chromium against daphne, a real worker and the sandbox.

Everything goes through the pages (no shortcuts through the ORM), and progress must arrive
without reloading: each page is marked when it loads and the mark must survive.
"""

import pytest
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.conftest import role_user
from whatsmassive import roles

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"
DEBTORS_CSV = """Nombre,Celular,Saldo,Vence,Referencia
Ana Gómez,300 123 4501,"150.000,50",2026-12-01,F-1
Luis Pérez,300 123 4502,"80.000",2026-12-02,F-2
Marta Ruiz,+57 300 123 4503,"1.200.000",2026-12-03,F-3
Jorge Díaz,3001234504,"45.500",2026-12-04,F-4
Sofía León,300-123-4505,"99.900",2026-12-05,F-5
Pedro Gil,300 123 4506,"310.000",2026-12-06,F-6
"""


def wait_for(browser, condition, timeout=60):
    # Live fragments replace elements under our feet: a stale one is simply looked up again.
    waiting = WebDriverWait(browser, timeout, ignored_exceptions=[StaleElementReferenceException])
    return waiting.until(condition)


def visible(browser, css, timeout=60):
    return wait_for(
        browser, expected_conditions.visibility_of_element_located((By.CSS_SELECTOR, css)), timeout
    )


def id_of(browser, css):
    """A selector for the element matching `css` by its id, which survives live swaps."""
    return "#" + wait_for(
        browser, lambda b: b.find_element(By.CSS_SELECTOR, css).get_attribute("id")
    )


def click(browser, scope_css, text, timeout=60):
    """Click the enabled button labelled `text` inside `scope_css`, once it is there."""

    def clicked(page):
        scope = page.find_element(By.CSS_SELECTOR, scope_css)
        for found in scope.find_elements(By.XPATH, f".//button[normalize-space()='{text}']"):
            if found.is_displayed() and found.is_enabled():
                found.click()
                return True
        return False

    wait_for(browser, clicked, timeout)


def text_of(browser, css):
    return browser.find_element(By.CSS_SELECTOR, css).text


def confirm(browser):
    wait_for(browser, expected_conditions.alert_is_present(), 5).accept()


def mark_page(browser):
    browser.execute_script("window.notReloaded = true")


def not_reloaded(browser):
    return browser.execute_script("return window.notReloaded === true")


def log_in(browser, live_url, user):
    browser.get(f"{live_url}/accounts/login/")
    browser.find_element(By.ID, "id_username").send_keys(user.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()
    visible(browser, "nav[aria-label=Main]")


def add_and_link_account(browser, live_url, screenshot):
    browser.get(f"{live_url}/sessions/")
    browser.find_element(By.CSS_SELECTOR, "#session-add input[name=name]").send_keys("Cobros 1")
    browser.find_element(By.CSS_SELECTOR, "#session-add button[type=submit]").click()
    live_id = id_of(browser, "[id^=session-][id$=-live]")
    mark_page(browser)

    click(browser, live_id, "Connect")
    # The worker starts the account's host, which shows a QR code to scan.
    qr = f"{live_id} img[src*=qr]"
    shown = "const qr = document.querySelector(arguments[0]); return qr?.naturalWidth > 0"
    wait_for(browser, lambda b: b.execute_script(shown, qr))
    screenshot(browser, "account-waiting-for-qr")
    click(browser, live_id, "Simulate scan")
    wait_for(browser, lambda b: "Disconnect" in text_of(b, live_id))
    assert not_reloaded(browser)

    # Fast pacing, all day, so the campaign runs within the test but can still be paused.
    pacing = browser.find_element(By.ID, "session-pacing")
    for name, value in {"min_delay_seconds": "1", "max_delay_seconds": "1"}.items():
        field = pacing.find_element(By.NAME, name)
        field.clear()
        field.send_keys(value)
    for name in ("active_from", "active_until"):
        browser.execute_script("arguments[0].value = '00:00'", pacing.find_element(By.NAME, name))
    pacing.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, lambda b: "Saved" in text_of(b, "#session-pacing"))
    screenshot(browser, "account-connected")


def create_pool(browser, live_url, screenshot):
    browser.get(f"{live_url}/pools/new/")
    form = browser.find_element(By.ID, "pool-form")
    form.find_element(By.NAME, "name").send_keys("Cartera Bogotá")
    form.find_element(By.CSS_SELECTOR, "input[name=strategy][value=fixed_turns]").click()
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    members = visible(browser, "section.members")
    Select(members.find_element(By.TAG_NAME, "select")).select_by_visible_text("Cobros 1")
    click(browser, "section.members", "Add to pool")
    wait_for(browser, lambda b: "Cobros 1" in text_of(b, "section.members table"))
    screenshot(browser, "pool")


def import_debtors(browser, live_url, tmp_path, screenshot):
    csv_file = tmp_path / "deudores.csv"
    csv_file.write_text(DEBTORS_CSV, encoding="utf-8")
    browser.get(f"{live_url}/debtors/imports/new/")
    browser.find_element(By.CSS_SELECTOR, "input[type=file]").send_keys(str(csv_file))
    browser.find_element(By.XPATH, "//button[normalize-space()='Upload and preview']").click()
    visible(browser, "#import-mapping")
    screenshot(browser, "import-mapping")
    browser.find_element(By.CSS_SELECTOR, "#import-mapping button[type=submit]").click()
    wait_for(browser, lambda b: "Every row was taken" in text_of(b, "#import-progress"))
    screenshot(browser, "import-done")


def create_campaign(browser, live_url, screenshot):
    browser.get(f"{live_url}/campaigns/new/")
    browser.find_element(By.NAME, "name").send_keys("Recordatorio diciembre")
    Select(browser.find_element(By.NAME, "pool")).select_by_visible_text("Cartera Bogotá")
    browser.find_element(By.NAME, "template").send_keys(
        "Hola {name}, le recordamos su saldo de {amount} (ref. {reference})."
    )
    wait_for(browser, lambda b: "Hola Ana Gómez" in text_of(b, "#campaign-preview"))
    assert "6 debtors will receive this" in text_of(browser, "#campaign-preview")
    screenshot(browser, "campaign-new")
    browser.find_element(By.CSS_SELECTOR, "form.campaign-form button[type=submit]").click()
    progress = id_of(browser, "[id^=campaign-][id$=-progress]")  # the campaign's own page
    return browser.current_url, progress


def test_an_operator_runs_a_campaign_from_an_empty_install_and_watches_it_live(
    live_url, new_browser, screenshot, tmp_path, send_log
):
    # Accounts and pools are a Supervisor's; the rest of the day is an Operator's.
    operator = role_user(roles.SUPERVISOR)
    operator.set_password(PASSWORD)
    operator.save()
    browser = new_browser()
    log_in(browser, live_url, operator)
    add_and_link_account(browser, live_url, screenshot)
    create_pool(browser, live_url, screenshot)
    import_debtors(browser, live_url, tmp_path, screenshot)
    campaign_url, progress = create_campaign(browser, live_url, screenshot)

    watcher = new_browser()
    log_in(watcher, live_url, operator)
    watcher.get(campaign_url)
    visible(watcher, progress)
    for page in (browser, watcher):
        mark_page(page)

    click(browser, progress, "Start sending")
    confirm(browser)
    wait_for(browser, lambda b: "Sending" in text_of(b, progress))
    wait_for(watcher, lambda b: "Sending" in text_of(b, progress))

    click(browser, progress, "Pause")
    wait_for(browser, lambda b: "Paused" in text_of(b, progress))
    wait_for(watcher, lambda b: "Paused" in text_of(b, progress))
    screenshot(watcher, "campaign-paused")

    click(watcher, progress, "Resume")
    bar = f"{progress} [role=progressbar]"
    for page in (browser, watcher):
        wait_for(
            page,
            lambda b: b.find_element(By.CSS_SELECTOR, bar).get_attribute("aria-valuenow") == "100",
        )
        wait_for(page, lambda b: "Finished" in text_of(b, progress))
        # The message table follows the pushes too: nothing is left pending in it.
        wait_for(
            page,
            lambda b: not b.find_elements(By.CSS_SELECTOR, "#campaign-messages .badge-pending"),
        )
        assert not_reloaded(page)
    screenshot(browser, "campaign-completed")

    assert sorted(phone for _, _, phone in send_log()) == [f"+57300123450{n}" for n in range(1, 7)]
    pages = {
        "dashboard": "/",
        "accounts": "/sessions/",
        "pools": "/pools/",
        "campaigns": "/campaigns/",
        "logs": "/logs/",
        "debtors": "/debtors/",
    }
    for name, path in pages.items():
        browser.get(live_url + path)
        visible(browser, "main h1")
        screenshot(browser, name)
    browser.find_element(By.LINK_TEXT, "Ana Gómez").click()
    visible(browser, "#debtor-standing")
    screenshot(browser, "debtor")
