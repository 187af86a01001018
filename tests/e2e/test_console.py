"""The console in a real headless Chromium against a local stack started as `make run` starts it,
and `ops tail` through a pseudo-terminal. Also writes docs/console.png (the README's screenshot).

Chromium and its driver are Debian's (``make browser``, which ``make test`` runs, installs them);
without them these tests skip and say why.
"""

from __future__ import annotations

import json
import os
import pty
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from chalicelib.webhooks.record import WebhookRecord, WebhookStatus
from devstack.emulator import free_port
from devstack.state import REPOSITORY
from ops import samples
from tests.e2e.stack import StackProcess, boto3_client

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium")
CHROMEDRIVER = shutil.which("chromedriver")
README_SCREENSHOT = REPOSITORY / "docs" / "console.png"
UPDATE_SCREENSHOT = "UPDATE_CONSOLE_SCREENSHOT"
"""Set to 1 to refresh docs/console.png; otherwise the screenshot goes to a temporary file, so a
test run leaves the working tree as it found it."""
T = TypeVar("T")


def eventually(check: Callable[[], T], what: str, timeout: float = 45.0) -> T:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    saved = os.environ.get("CONSOLE_PORT")
    os.environ["CONSOLE_PORT"] = str(free_port())  # never a developer's 8080
    try:
        started = StackProcess.start(tmp_path_factory.mktemp("console-stack"))
    finally:
        if saved is None:
            os.environ.pop("CONSOLE_PORT", None)
        else:
            os.environ["CONSOLE_PORT"] = saved
    yield started
    assert started.interrupt() == 0, started.output[-3000:]


@pytest.fixture(scope="module")
def console_url(stack: StackProcess) -> str:
    url = stack.state()["consoleUrl"]
    assert url and url.startswith("http://127.0.0.1:"), url
    assert f"  console: {url}" in stack.output  # the start banner says where it is
    return str(url)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("no chromium/chromedriver on this machine: `make browser` installs Debian's (as root, with apt)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1400,900", "--no-proxy-server"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def secrets_of(stack: StackProcess) -> list[str]:
    document = json.loads((stack.state_dir / "secrets.json").read_text())
    found: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, str) and len(value) >= 12:
            found.append(value)

    walk(document)
    assert found, "no local secret found to check for"
    return found


def row_text(browser: Any, webhook_id: str) -> str:
    """The list row's text, or "" while the list is re-rendering under it (a stale element)."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    try:
        text: str = browser.find_element(By.CSS_SELECTOR, f'tr[data-webhook-id="{webhook_id}"]').text
    except (StaleElementReferenceException, NoSuchElementException):
        return ""
    return text


def click_live_link(browser: Any, link_text: str) -> None:
    """Click a link in the polling list: a re-render between finding and clicking it makes the element
    stale (seen in CI), so find it again and retry, as a user clicks the row that is on the screen."""
    from selenium.common.exceptions import StaleElementReferenceException
    from selenium.webdriver.common.by import By

    def clicked() -> bool:
        try:
            browser.find_element(By.LINK_TEXT, link_text).click()
        except StaleElementReferenceException:
            return False
        return True

    eventually(clicked, what=f"a click on the live link {link_text}")


def element_on_next_page(browser: Any, element_id: str) -> Any:
    """The element with ``element_id`` once the page a click went to has it: a click that navigates
    can return while the old page is still there (seen in CI: no such element, right after it)."""
    from selenium.webdriver.common.by import By

    found = eventually(lambda: browser.find_elements(By.ID, element_id), what=f"the page with #{element_id}")
    return found[0]


def assert_nothing_secret(html: str, stack: StackProcess) -> None:
    for secret in secrets_of(stack):
        assert secret not in html
    lowered = html.lower()
    for header in ("stripe-signature", "x-square-hmacsha256-signature", "webhook-signature", "paypal-transmission-sig"):
        assert header not in lowered
    assert not re.search(r"v1=[0-9a-f]{64}", html)  # a Stripe signature's value


def poison(stack: StackProcess) -> str:
    """A stored, queued webhook processing always fails on (its provider is unknown)."""
    resources = stack.state()["resources"]
    webhook_id = f"wh_console_poison_{time.time_ns()}"
    event = samples.build("stripe", "payment_intent.succeeded")
    record = WebhookRecord(webhook_id=webhook_id, source="stripe", provider="no-such-provider",
                           event_id=event.event_id, event_type=event.event_type, payload=json.dumps(event.document),
                           received_at="2024-01-01T00:00:00.000Z", status=WebhookStatus.RECEIVED,
                           expires_at=2_000_000_000)
    boto3_client(stack, "dynamodb").put_item(TableName=resources["table_name"], Item=record.to_item())
    boto3_client(stack, "sqs").send_message(QueueUrl=resources["queue_url"],
                                            MessageBody=json.dumps({"webhookId": webhook_id}))
    return webhook_id


def test_the_console_in_a_browser(stack: StackProcess, console_url: str, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    # GIVEN the list open in the browser, WHEN webhooks are sent over HTTP, as a provider sends them
    browser.get(console_url + "/")
    sent = stack.ops_json("send", "stripe", "payment_intent.succeeded", "--amount", "1234")
    [webhook_id] = sent["responses"][0]["webhookIds"]
    stack.ops_json("send", "adyen", "AUTHORISATION")
    stack.ops_json("send", "standard", "refund.succeeded")

    # THEN the list shows them without a reload (it polls), and no page says anything secret
    eventually(lambda: webhook_id in browser.page_source, what="the webhook in the list, live")
    # Read the row as one poll rendered it: the list re-renders as it polls, so an element found
    # before a re-render is stale by the time its text is read (seen on a loaded machine).
    def processed_row() -> str:
        text = row_text(browser, webhook_id)
        return text if "processed" in text else ""

    row = eventually(processed_row, what="the webhook's row, processed")
    assert row.count("processed") == 1, row
    assert_nothing_secret(browser.page_source, stack)

    # AND its page shows its status, type and attempts, and links to its payment
    click_live_link(browser, webhook_id)
    assert element_on_next_page(browser, "status").text == "processed"
    assert browser.find_element(By.ID, "event-type").text == "payment_intent.succeeded"
    assert browser.find_element(By.ID, "attempts").text == "1"
    assert "processed" in browser.find_element(By.ID, "attempt-table").text
    assert_nothing_secret(browser.page_source, stack)

    # AND the payment page shows the amounts
    browser.find_element(By.ID, "payment-link").click()
    assert "12.34" in element_on_next_page(browser, "amount").text
    assert browser.find_element(By.ID, "currency").text == "USD"
    assert_nothing_secret(browser.page_source, stack)

    # AND /events shows the PaymentEvent published for it
    browser.get(console_url + "/events")
    eventually(lambda: (browser.refresh() or webhook_id in browser.page_source), what="the published event")
    assert_nothing_secret(browser.page_source, stack)

    browser.get(console_url + "/")
    eventually(lambda: browser.page_source.count("processed") >= 3, what="three processed webhooks")
    screenshot = README_SCREENSHOT if os.environ.get(UPDATE_SCREENSHOT) == "1" else tmp_path / "console.png"
    browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000


def test_a_failure_is_replayed_from_the_browser_after_confirmation(stack: StackProcess, console_url: str,
                                                                    browser: Any) -> None:
    from selenium.webdriver.common.by import By

    # GIVEN a webhook whose processing keeps failing, until it is `failed`
    webhook_id = poison(stack)
    eventually(lambda: stack.ops_json("show", webhook_id)["status"] == "failed", what="the record to fail")

    # THEN it is on /failures, highlighted, with its safe reason
    browser.get(console_url + "/failures")
    row = browser.find_element(By.CSS_SELECTOR, f'tr[data-webhook-id="{webhook_id}"]')
    assert "failed" in (row.get_attribute("class") or "")
    assert_nothing_secret(browser.page_source, stack)

    # WHEN its replay button is pressed, THEN a confirmation says what will happen, and nothing has yet
    row.find_element(By.CSS_SELECTOR, "button.replay").click()
    # (the click submits a form: wait for the confirmation page rather than read the old one)
    eventually(lambda: "reopen, then queue" in browser.page_source, what="the replay confirmation page")
    assert webhook_id in browser.page_source
    assert stack.ops_json("show", webhook_id)["status"] == "failed"

    # WHEN confirmed, THEN it is reopened and queued again: processing attempts it once more
    before = stack.ops_json("show", webhook_id)["attempts"]
    browser.find_element(By.ID, "confirm-button").click()
    assert "queued 1 webhook(s)" in element_on_next_page(browser, "result").text
    shown = stack.ops_json("show", webhook_id)
    assert shown["attemptLog"][-1]["outcome"] == "reopened" or shown["attempts"] > before
    eventually(lambda: stack.ops_json("show", webhook_id)["attempts"] > before, what="a new attempt after replay")


def test_a_post_without_the_token_is_refused_and_changes_nothing(stack: StackProcess, console_url: str,
                                                                 browser: Any) -> None:
    webhook_id = poison(stack)
    eventually(lambda: stack.ops_json("show", webhook_id)["status"] == "failed", what="the record to fail")
    before = stack.ops_json("show", webhook_id)

    # WHEN a page elsewhere (here: a form injected into the console's own page, so the session
    # cookie goes along) posts a confirmed replay without the token
    browser.get(console_url + "/failures")
    browser.execute_script(
        "const f = document.createElement('form'); f.method = 'post'; f.action = '/actions/replay';"
        "for (const [k, v] of [['webhookId', arguments[0]], ['confirm', 'yes']]) {"
        "  const i = document.createElement('input'); i.name = k; i.value = v; f.appendChild(i); }"
        "document.body.appendChild(f); f.submit();", webhook_id)

    # THEN it is refused, and the record is as it was
    eventually(lambda: "nothing was changed" in browser.page_source, what="the refusal page")
    assert "403" in browser.title
    time.sleep(1.5)
    after = stack.ops_json("show", webhook_id)
    assert (after["status"], after["attempts"], after["attemptLog"]) == (
        before["status"], before["attempts"], before["attemptLog"])


def test_ops_tail_shows_a_webhook_sent_from_another_terminal(stack: StackProcess) -> None:
    # GIVEN `ops tail` running on a terminal
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "ops", "tail"], cwd=REPOSITORY, env=stack.environment(),
                               stdin=follower, stdout=follower, stderr=follower, start_new_session=True)
    os.close(follower)
    output = b""

    def read_until(needle: bytes, timeout: float = 20.0) -> bytes:
        nonlocal output
        deadline = time.monotonic() + timeout
        while needle not in output:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no {needle!r} in ops tail's output: {output[-2000:]!r}")
            ready, _, _ = select.select([leader], [], [], remaining)
            if ready:
                try:
                    output += os.read(leader, 4096)
                except OSError:
                    break
        return output

    try:
        read_until(b"following stage local")
        # WHEN a webhook is sent from another terminal
        sent = stack.ops_json("send", "stripe", "payment_intent.succeeded")
        [webhook_id] = sent["responses"][0]["webhookIds"]
        # THEN within a few seconds tail shows it arrive, get processed, and its event published
        text = read_until(b"processed after 1 attempt(s)").decode(errors="replace")
        read_until(b"event      payment succeeded")
        assert webhook_id[:15] in text and "received" in text
        assert "\x1b[" in text  # colour on a terminal
    finally:
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(10) == 0
        os.close(leader)


def test_ops_tail_is_plain_when_piped(stack: StackProcess) -> None:
    process = subprocess.Popen([sys.executable, "-m", "ops", "tail", "--json"], cwd=REPOSITORY,
                               env=stack.environment(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        time.sleep(2.5)
        sent = stack.ops_json("send", "standard", "refund.succeeded")
        [webhook_id] = sent["responses"][0]["webhookIds"]
        time.sleep(4)
    finally:
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    lines = [json.loads(line) for line in out.decode().splitlines()]
    assert {"webhook", "status"} <= {line["type"] for line in lines if line.get("webhookId") == webhook_id}
    assert b"\x1b[" not in out


def test_ops_console_serves_the_same_pages_on_its_own(stack: StackProcess) -> None:
    import urllib.request

    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "ops", "console", "--port", str(port)], cwd=REPOSITORY,
                               env=stack.environment(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        assert process.stdout is not None
        banner = process.stdout.readline().decode()
        assert banner.startswith(f"console for stage local on http://127.0.0.1:{port}"), banner
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/failures", timeout=10) as answer:
            assert answer.status == 200 and b"Dead-lettered messages" in answer.read()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
