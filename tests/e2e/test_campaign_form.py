"""The campaign form's variant boxes and placeholder chips, in real headless Chromium."""

import pytest
from selenium.webdriver.common.by import By

from tests.e2e.test_operator_console import PASSWORD, click, log_in, text_of, wait_for
from tests.factories import DebtorFactory, PoolMemberFactory, UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_operator_adds_a_variant_fills_it_with_a_chip_and_removes_it(live_url, new_browser):
    admin = UserFactory(is_staff=True, is_superuser=True, password=PASSWORD)
    PoolMemberFactory()
    DebtorFactory(name="Ana Gómez")
    browser = new_browser()
    log_in(browser, live_url, admin)
    browser.get(f"{live_url}/campaigns/new/")
    browser.find_element(By.NAME, "name").send_keys("Variantes")
    browser.find_element(By.NAME, "template").send_keys("Hola ")
    browser.find_element(By.CSS_SELECTOR, '[data-placeholder="name"]').click()
    assert browser.find_element(By.NAME, "template").get_attribute("value") == "Hola {name}"

    click(browser, "#campaign-variants", "Add a variant")
    boxes = browser.find_elements(By.CSS_SELECTOR, "#campaign-variants textarea")
    assert len(boxes) == 2  # the empty box always there, and the one just added
    boxes[-1].send_keys("Buenos días ")
    browser.find_element(By.CSS_SELECTOR, '[data-placeholder="name"]').click()
    assert boxes[-1].get_attribute("value") == "Buenos días {name}"
    wait_for(browser, lambda b: "Buenos días Ana Gómez" in text_of(b, "#campaign-preview"))
    assert "Hola Ana Gómez" in text_of(browser, "#campaign-preview")

    click(browser, "#campaign-variants", "Remove this variant")
    wait_for(browser, lambda b: "Buenos días" not in text_of(b, "#campaign-preview"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "#campaign-variants textarea")) == 1
