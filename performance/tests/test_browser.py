"""Headless Chromium drives the admin Performance page: log in, open it, read the tables,
reset the metrics through the confirmation step."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

from performance import metric_totals
from sms.tests.factories import inbound_message_create

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    if not (shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER)):
        message = "chromium/chromedriver not installed: run scripts/browser-deps.sh"
        if os.environ.get("REQUIRE_BROWSER"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()


def test_operator_logs_in_reads_the_page_and_resets_metrics(browser, live_server, admin_user) -> None:
    failed = inbound_message_create(status="failed", error_code="speech_timeout")
    browser.get(live_server.url + "/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys("admin")
    browser.find_element(By.NAME, "password").send_keys("password")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait = WebDriverWait(browser, 15)
    wait.until(EC.url_to_be(live_server.url + "/admin/"))

    browser.find_element(By.LINK_TEXT, "Performance").click()
    wait.until(EC.url_to_be(live_server.url + "/admin/performance/"))
    for table in ("perf-traffic", "perf-caches", "perf-pools", "perf-database"):
        assert browser.find_element(By.ID, table).is_displayed()
    cache_names = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#perf-caches tbody td:first-child")]
    assert "phone_lookup" in cache_names
    pool_names = [td.text for td in browser.find_elements(By.CSS_SELECTOR, "#perf-pools tbody td:first-child")]
    assert "redis" in pool_names and "postgresql" in pool_names
    failure_link = browser.find_element(By.LINK_TEXT, failed.message_sid)
    assert failure_link.get_attribute("href").endswith(f"/admin/sms/inboundmessage/{failed.pk}/change/")

    assert metric_totals.baseline_get().reset_at is None
    browser.find_element(By.ID, "action-reset_metrics").click()
    wait.until(EC.title_contains("are you sure"))
    browser.find_element(By.ID, "confirm-action").click()
    wait.until(EC.url_to_be(live_server.url + "/admin/performance/"))
    assert "Metrics reset" in browser.find_element(By.CSS_SELECTOR, "ul.messagelist").text
    assert "since the reset" in browser.find_element(By.ID, "content-main").text
    assert metric_totals.baseline_get().reset_at is not None
