import pytest
from selenium.webdriver.common.by import By

from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)

PASSWORD = "correct horse battery staple"


def log_in(browser, live_url, user):
    browser.get(f"{live_url}/accounts/login/")
    browser.find_element(By.ID, "id_username").send_keys(user.username)
    browser.find_element(By.ID, "id_password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, "form button[type=submit]").click()


def test_an_operator_logs_in_and_lands_on_the_dashboard(live_url, new_browser, screenshot):
    operator = UserFactory(password=PASSWORD)
    browser = new_browser()
    log_in(browser, live_url, operator)
    assert browser.find_element(By.TAG_NAME, "h1").text == "Dashboard"
    screenshot(browser, "dashboard")
