"""``ops tail``'s lines from real store changes (moto): new webhooks, failed attempts with their
reasons, status changes, and what the local stack saw published."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from chalicelib.webhooks.store import WebhookStore
from console.events import ALERT, PAYMENT_EVENT, EventLog
from ops.tail import Follower, render
from tests import samples
from tests.console.test_console_app import failing_record
from tests.functional.helpers import post, process_queue


def plain(text: str, colour: str) -> str:
    return text


def test_tail_tells_what_changed_since_it_started(client: Any, stack: Any, tmp_path: Path) -> None:
    store = WebhookStore(stack.dynamodb, stack.resources.table_name)
    body, headers = samples.stripe_delivery(samples.stripe_event("payment_intent.succeeded"))
    assert post(client, "stripe", body, headers).status_code == 200
    process_queue(client, stack)
    log = EventLog(tmp_path / "events.jsonl")
    follower = Follower(store, log)
    follower.start()
    assert follower.poll() == []  # what existed before is not told again

    # WHEN a new webhook arrives and is processed, one fails for good, and events are produced
    body, headers = samples.stripe_delivery(samples.stripe_event("charge.refunded"))
    webhook_id = json.loads(post(client, "stripe", body, headers).body)["webhookId"]
    arrived = follower.poll()
    process_queue(client, stack)
    poison = failing_record(stack)
    process_queue(client, stack)
    log.append(PAYMENT_EVENT, {"kind": "refund", "status": "succeeded", "paymentKey": "stripe:pi_1", "amount": 500,
                               "currency": "USD"}, "2024-01-01T00:00:00.000Z")
    log.append(ALERT, {"alert": "A webhook failed", "webhookId": poison, "lastError": "boom"},
               "2024-01-01T00:00:01.000Z")
    later = [render(line, False, plain) for line in follower.poll()]

    # THEN each is one line
    assert [line.kind for line in arrived] == ["webhook"] and webhook_id[:15] in arrived[0].text
    assert any(webhook_id[:15] in line and ("processed" in line or "ignored" in line) for line in later)
    assert any(poison[:15] in line and "failed after 5 attempt(s)" in line for line in later)
    assert any("event      refund succeeded stripe:pi_1 500 USD" in line for line in later)
    assert any(line.endswith(f"alert      A webhook failed {poison} boom") for line in later)
    assert all(line[:4].isdigit() and "T" in line.split()[0] for line in later)  # ISO times


def test_each_failed_attempt_is_a_line_with_its_reason(client: Any, stack: Any, tmp_path: Path) -> None:
    store = WebhookStore(stack.dynamodb, stack.resources.table_name)
    follower = Follower(store, None)
    follower.start()
    poison = failing_record(stack)
    follower.poll()
    # one receive at a time, as Lambda's poller would retry it
    url = stack.resources.queue_url
    from tests.functional.helpers import invoke_processor

    messages = stack.sqs.receive_message(QueueUrl=url, AttributeNames=["All"])["Messages"]
    invoke_processor(client, stack, messages)
    [line] = follower.poll()
    assert line.kind == "attempt" and line.fields["attempt"] == 1 and poison == line.fields["webhookId"]
    assert "attempt 1 failed: " in line.text and line.fields["error"]
    document = json.loads(render(line, True, plain))
    assert document["type"] == "attempt" and document["error"] == line.fields["error"]
