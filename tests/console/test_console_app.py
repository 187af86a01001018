"""The console's pages and actions through Flask's test client, on the moto-backed stack."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from chalicelib.webhooks.record import WebhookRecord, WebhookStatus
from chalicelib.webhooks.store import WebhookStore
from console.app import create_app
from console.data import Console
from console.events import PAYMENT_EVENT, EventLog
from ops.stage import LOCAL, StageTarget
from tests import samples
from tests.functional.helpers import post, process_queue


@pytest.fixture
def target(stack: Any) -> StageTarget:
    resources = stack.resources
    return StageTarget(stage=LOCAL, session=stack.session, endpoint_url=None, table_name=resources.table_name,
                       queue_name=resources.queue_url.rsplit("/", 1)[-1], sources_secret_id=resources.secret_id,
                       queue_url=resources.queue_url, dlq_url=resources.dlq_url)


@pytest.fixture
def browser(target: StageTarget, tmp_path: Path) -> Any:
    app = create_app(Console(target, EventLog(tmp_path / "events.jsonl")))
    return app.test_client()


def token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no anti-CSRF token in the page"
    return found.group(1)


def deliver(client: Any, event_type: str = "payment_intent.succeeded") -> tuple[str, dict[str, str]]:
    body, headers = samples.stripe_delivery(samples.stripe_event(event_type))
    response = post(client, "stripe", body, headers)
    assert response.status_code == 200
    return json.loads(response.body)["webhookId"], headers


def failing_record(stack: Any, webhook_id: str = "wh_console_poison") -> str:
    event = samples.stripe_event("payment_intent.succeeded")
    record = WebhookRecord(webhook_id=webhook_id, source="stripe", provider="no-such-provider", event_id=event["id"],
                           event_type=event["type"], payload=json.dumps(event),
                           received_at="2024-01-01T00:00:00.000Z", status=WebhookStatus.RECEIVED,
                           expires_at=2_000_000_000)
    stack.dynamodb.put_item(TableName=stack.resources.table_name, Item=record.to_item())
    stack.sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody=json.dumps({"webhookId": webhook_id}))
    return webhook_id


def test_the_pages_show_a_webhook_its_payment_and_no_signature(client: Any, stack: Any, browser: Any) -> None:
    webhook_id, headers = deliver(client)
    process_queue(client, stack)
    signature = headers["Stripe-Signature"]

    listing = browser.get("/").get_data(as_text=True)
    assert webhook_id in listing and "payment_intent.succeeded" in listing
    rows = browser.get("/?fragment=rows&source=stripe&type=payment_intent").get_data(as_text=True)
    assert webhook_id in rows and "<html" not in rows
    assert webhook_id not in browser.get("/?status=failed").get_data(as_text=True)

    page = browser.get(f"/webhooks/{webhook_id}").get_data(as_text=True)
    assert "processed" in page and "200 accepted" in page and "content-type" in page
    assert "stripe:pi_" in page  # the link to the payment it changed
    assert (link := re.search(r'href="/payments/([^"]+)"', page)) is not None, page
    payment_key = link.group(1)
    payment = browser.get(f"/payments/{payment_key}").get_data(as_text=True)
    assert "succeeded" in payment and webhook_id in payment

    for html in (listing, page, payment, browser.get("/failures").get_data(as_text=True)):
        assert signature not in html and "stripe-signature" not in html.lower()
        assert "whsec_" not in html


def test_bad_input_is_a_clear_4xx(browser: Any) -> None:
    assert browser.get("/webhooks/wh_nope").status_code == 404
    assert browser.get("/payments/stripe:pi_nope").status_code == 404
    answer = browser.get("/?since=yesterday-ish")
    assert answer.status_code == 400 and "cannot read the time" in answer.get_data(as_text=True)
    assert browser.get("/?status=weird").status_code == 400
    assert browser.get("/", headers={"Host": "evil.example:8080"}).status_code == 400


def test_a_post_without_the_token_is_refused_and_changes_nothing(client: Any, stack: Any, browser: Any) -> None:
    webhook_id = failing_record(stack)
    process_queue(client, stack)
    store = WebhookStore(stack.dynamodb, stack.resources.table_name)
    assert (record := store.get(webhook_id)) is not None and record.status == "failed"
    browser.get("/failures")  # a session exists, but the form's token is not sent

    for form in ({"webhookId": webhook_id, "confirm": "yes"},
                 {"webhookId": webhook_id, "confirm": "yes", "csrf_token": "forged"}):
        answer = browser.post("/actions/replay", data=form)
        assert answer.status_code == 403 and "nothing was changed" in answer.get_data(as_text=True)
    assert browser.post("/actions/redrive", data={"confirm": "yes"}).status_code == 403
    assert (record := store.get(webhook_id)) is not None and record.status == "failed"
    assert stack.drain() == []


def test_replay_shows_what_it_will_do_then_does_it(client: Any, stack: Any, browser: Any) -> None:
    webhook_id = failing_record(stack)
    process_queue(client, stack)
    failures = browser.get("/failures").get_data(as_text=True)
    assert webhook_id in failures and "dead-letter" in failures.lower()

    # WHEN replay is asked for, THEN the confirmation says what it will do, and does nothing yet
    confirm = browser.post("/actions/replay", data={"webhookId": webhook_id, "csrf_token": token(failures)})
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and "reopen, then queue" in html and webhook_id in html
    assert stack.drain() == []

    # WHEN confirmed, THEN the record is reopened and queued again
    done = browser.post("/actions/replay", data={"webhookId": webhook_id, "csrf_token": token(html), "confirm": "yes"})
    assert "queued 1 webhook(s)" in done.get_data(as_text=True)
    store = WebhookStore(stack.dynamodb, stack.resources.table_name)
    assert (record := store.get(webhook_id)) is not None and record.status == "received"
    assert [json.loads(m["Body"])["webhookId"] for m in stack.drain()] == [webhook_id]


def test_redrive_lists_the_dead_letters_then_moves_them(client: Any, stack: Any, browser: Any) -> None:
    webhook_id = failing_record(stack)
    process_queue(client, stack)
    failures = browser.get("/failures").get_data(as_text=True)
    confirm = browser.post("/actions/redrive", data={"csrf_token": token(failures)}).get_data(as_text=True)
    assert "Redrive 1 dead-lettered" in confirm and webhook_id in confirm
    done = browser.post("/actions/redrive", data={"csrf_token": token(confirm), "confirm": "yes"})
    assert "moved 1 message(s)" in done.get_data(as_text=True)
    assert [json.loads(m["Body"])["webhookId"] for m in stack.drain()] == [webhook_id]


def test_events_shows_what_the_local_drain_saw(target: StageTarget, tmp_path: Path) -> None:
    log = EventLog(tmp_path / "events.jsonl")
    log.append(PAYMENT_EVENT, {"eventId": "pe_1", "paymentKey": "stripe:pi_1", "webhookId": "wh_1", "kind": "payment",
                               "status": "succeeded", "amount": 2000, "currency": "USD"}, "2024-01-01T00:00:00.000Z")
    html = create_app(Console(target, log)).test_client().get("/events").get_data(as_text=True)
    assert "stripe:pi_1" in html and "succeeded" in html and "2000 USD" in html
    remote = create_app(Console(target, None)).test_client().get("/events").get_data(as_text=True)
    assert "subscribes to nothing in a deployed stage" in remote
