#!/usr/bin/env python3
"""The console in a real browser (Debian's chromium through chromedriver), as an operator and a
viewer use it: sign in at the OpenID provider, see the queues, open a dead letter, retry it, see
it gone and its job done, find the action in the audit, upload a house manual on the Knowledge page; then as a viewer, find no retry button
and have a forged POST refused. Screenshots at a laptop's width and a phone's go to --shots.

Run by Tests/ConsoleTests/ConsoleBrowserTests.swift, which starts Redis, the provider, the
console and a consumer, and passes what it made. Exits 0 when every step held, else 1 naming
the step (and saves failure.png)."""
import argparse
import os
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import WebDriverWait

parser = argparse.ArgumentParser()
parser.add_argument("--console", required=True)
parser.add_argument("--shots", required=True)
parser.add_argument("--retry-job", required=True, help="the dead letter's job id the operator retries")
parser.add_argument("--kept-job", required=True, help="a dead letter the viewer tries to retry")
parser.add_argument("--manual", required=True, help="a Markdown house manual the operator uploads")
arguments = parser.parse_args()
os.makedirs(arguments.shots, exist_ok=True)

options = Options()
for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,900",
             "--user-data-dir=" + os.path.join(arguments.shots, "profile")):
    options.add_argument(flag)
options.binary_location = "/usr/bin/chromium"
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 20)
step = "start"


def shot(name):
    driver.save_screenshot(os.path.join(arguments.shots, name + ".png"))


def text():
    return driver.find_element(By.TAG_NAME, "body").text


def sign_in(user, password):
    driver.get(arguments.console + "/")
    wait.until(EC.element_to_be_clickable((By.ID, "sign-in"))).click()
    wait.until(EC.presence_of_element_located((By.ID, "username"))).send_keys(user)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "kc-login").click()
    wait.until(EC.presence_of_element_located((By.ID, "queues")))


try:
    step = "an operator signs in at the provider and sees the queues"
    sign_in("ada", "ada-pass")
    assert driver.current_url.rstrip("/") == arguments.console, driver.current_url
    assert driver.find_elements(By.CSS_SELECTOR, 'tr[data-queue="diagnostics"]'), "no diagnostics row"
    assert "ada" in text() and "operator" in text()
    shot("overview-laptop")

    step = "she opens the dead letter"
    driver.find_element(By.LINK_TEXT, "Dead letters").click()
    wait.until(EC.presence_of_element_located((By.ID, "dead-count")))
    assert driver.find_element(By.ID, "dead-count").text == "2", driver.find_element(By.ID, "dead-count").text
    shot("dead-letters-laptop")
    driver.find_element(By.LINK_TEXT, arguments.retry_job).click()
    wait.until(EC.presence_of_element_located((By.ID, "letter-error")))
    shot("dead-letter-laptop")

    step = "she retries it and it is gone from the dead letters"
    driver.find_element(By.ID, "retry-one").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "retried 1 of 1"))
    assert arguments.retry_job not in text(), "the retried letter is still listed"
    assert driver.find_element(By.ID, "dead-count").text == "1"

    step = "its job is done (the trace page updates itself)"
    driver.get(arguments.console + "/trace?id=" + arguments.retry_job)
    wait.until(EC.presence_of_element_located((By.ID, "trace")))
    WebDriverWait(driver, 30).until(lambda d: any(cell.text == "done" for cell in d.find_elements(By.CSS_SELECTOR, "#trace td.state")))
    shot("trace-laptop")

    step = "the audit names her, the action and how many"
    driver.find_element(By.LINK_TEXT, "Audit").click()
    rows = wait.until(EC.presence_of_all_elements_located((By.CSS_SELECTOR, "#audit tbody tr")))
    first = rows[0].text
    assert "ada" in first and "dead.retry" in first and first.strip().endswith("1"), first
    shot("audit-laptop")

    step = "she uploads the house manual for one listing on the Knowledge page"
    driver.find_element(By.LINK_TEXT, "Knowledge").click()
    wait.until(EC.presence_of_element_located((By.ID, "upload")))
    driver.find_element(By.ID, "document").send_keys(arguments.manual)
    driver.find_element(By.CSS_SELECTOR, '#upload input[name="listing"]').send_keys("L1")
    driver.find_element(By.ID, "upload-document").click()
    wait.until(EC.text_to_be_present_in_element((By.CSS_SELECTOR, ".flash"), "indexing house-manual.md"))
    assert driver.find_elements(By.CSS_SELECTOR, 'tr[data-source="house-manual.md"]'), "the source is not listed"
    shot("knowledge-laptop")

    step = "at a phone's width nothing overflows the page"
    driver.set_window_size(390, 844)
    driver.get(arguments.console + "/")
    wait.until(EC.presence_of_element_located((By.ID, "queues")))
    overflow = driver.execute_script("return document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 1, "the page is %d px wider than the phone" % overflow
    shot("overview-phone")
    driver.get(arguments.console + "/dead")
    wait.until(EC.presence_of_element_located((By.ID, "dead-count")))
    shot("dead-letters-phone")
    driver.set_window_size(1280, 900)

    step = "she signs out"
    driver.find_element(By.CSS_SELECTOR, 'form[action="/logout"] button').click()
    wait.until(EC.presence_of_element_located((By.ID, "sign-in")))

    step = "a viewer sees the letter but has no retry button"
    sign_in("vic", "vic-pass")
    driver.get(arguments.console + "/dead")
    wait.until(EC.presence_of_element_located((By.ID, "dead-count")))
    assert arguments.kept_job in text()
    assert not driver.find_elements(By.ID, "retry-selected"), "a viewer has a retry button"
    assert "viewer" in text()
    shot("dead-letters-viewer")

    step = "the viewer's forged POST is refused"
    status = driver.execute_async_script("""
        var done = arguments[arguments.length - 1];
        var csrf = document.querySelector('input[name=csrf]').value;
        fetch('/dead/retry', {method: 'POST', credentials: 'same-origin', headers: {'Content-Type': 'application/x-www-form-urlencoded'},
              body: 'csrf=' + encodeURIComponent(csrf) + '&scope=all'}).then(function (r) { return r.text().then(function (t) { done([r.status, t]); }); });
    """)
    assert status[0] == 403 and "viewers see, operators act" in status[1], status
    driver.refresh()
    wait.until(EC.presence_of_element_located((By.ID, "dead-count")))
    assert driver.find_element(By.ID, "dead-count").text == "1", "the forged POST changed something"
    print("walkthrough: every step held")
except Exception as error:  # noqa: BLE001 - any failure is reported with its step
    shot("failure")
    print("walkthrough failed at '%s': %r\nat %s\n%s" % (step, error, driver.current_url, text()[:2000]), file=sys.stderr)
    driver.quit()
    sys.exit(1)
driver.quit()
