"""What the console's inspector reads is stored: the request's safe headers, the answer, the attempts."""

from __future__ import annotations

import json
from typing import Any

from bench.calls import dynamodb_item_bytes
from chalicelib.providers import PROVIDER_NAMES, get_provider
from chalicelib.webhooks.record import ATTEMPT_HISTORY_LIMIT, WebhookRecord, WebhookStatus, attempt_entry, safe_headers
from chalicelib.webhooks.store import WebhookStore
from tests import samples
from tests.functional.helpers import post, process_queue


def stored(stack: Any, webhook_id: str) -> WebhookRecord:
    record = WebhookStore(stack.dynamodb, stack.resources.table_name).get(webhook_id)
    assert record is not None
    return record


def test_a_received_webhook_keeps_its_safe_headers_and_its_answer(client: Any, stack: Any) -> None:
    # GIVEN a signed Stripe delivery with a user agent and a credential-looking header
    body, headers = samples.stripe_delivery(samples.stripe_event("payment_intent.succeeded"))
    headers = {**headers, "User-Agent": "Stripe/1.0", "Authorization": "Bearer sk_live_nope"}

    # WHEN it is received and processed
    response = post(client, "stripe", body, headers)
    assert response.status_code == 200
    webhook_id = json.loads(response.body)["webhookId"]
    process_queue(client, stack)

    # THEN the record keeps the harmless headers, never the signature nor the credential
    record = stored(stack, webhook_id)
    assert record.headers["user-agent"] == "Stripe/1.0"
    assert record.headers["content-type"].startswith("application/json")
    assert "stripe-signature" not in record.headers and "authorization" not in record.headers
    assert headers["Stripe-Signature"] not in json.dumps(record.to_json())
    # AND the answer given, and one processed attempt with its time
    assert record.answer == "200 accepted"
    assert [entry["outcome"] for entry in record.attempt_log] == ["processed"]
    assert record.attempt_log[0]["at"].endswith("Z")


def test_every_failed_attempt_is_kept_with_its_safe_reason(client: Any, stack: Any) -> None:
    # GIVEN a stored webhook processing cannot handle (an unknown provider), queued
    event = samples.stripe_event("payment_intent.succeeded")
    record = WebhookRecord(
        webhook_id="wh_poison_storage", source="stripe", provider="no-such-provider", event_id=event["id"],
        event_type=event["type"], payload=json.dumps(event), received_at="2024-01-01T00:00:00.000Z",
        status=WebhookStatus.RECEIVED, expires_at=2_000_000_000,
    )
    stack.dynamodb.put_item(TableName=stack.resources.table_name, Item=record.to_item())
    stack.sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody=json.dumps({"webhookId": record.webhook_id}))

    # WHEN the processor fails on it until its last receive
    process_queue(client, stack)

    # THEN each attempt is in the history, the last one final, each with the safe reason
    found = stored(stack, record.webhook_id)
    outcomes = [entry["outcome"] for entry in found.attempt_log]
    assert found.status == "failed" and outcomes[-1] == "failed"
    assert set(outcomes[:-1]) == {"retrying"} and len(outcomes) == found.attempts
    assert all(entry["error"] == found.last_error for entry in found.attempt_log)

    # AND a replay's reopening is noted in the history too
    store = WebhookStore(stack.dynamodb, stack.resources.table_name)
    assert store.reopen(record.webhook_id, now=1_700_000_000)
    assert stored(stack, record.webhook_id).attempt_log[-1] == {"at": "2023-11-14T22:13:20.000Z", "outcome": "reopened"}


def test_the_attempt_history_is_bounded() -> None:
    record = WebhookRecord(
        "wh_x", "stripe", "stripe", "evt", "t", "{}", "2024-01-01T00:00:00.000Z", WebhookStatus.RECEIVED
    )
    for second in range(ATTEMPT_HISTORY_LIMIT + 5):
        record.attempt_log = tuple(record.with_attempt(attempt_entry(second, "retrying", "boom")))
    assert len(record.attempt_log) == ATTEMPT_HISTORY_LIMIT
    assert record.attempt_log[-1]["at"] == "1970-01-01T00:00:14.000Z"
    assert WebhookRecord.from_item(record.to_item()).attempt_log == record.attempt_log


def test_no_provider_signature_header_is_ever_kept() -> None:
    for name in PROVIDER_NAMES:
        names = get_provider(name).signature_headers
        assert safe_headers({header: "x" for header in names}, names) == {}
    many = {f"x-h{i:02d}": "v" * 1000 for i in range(100)}
    kept = safe_headers({**many, "X-Api-Key": "k", "Cookie": "c", "X-Session-Token": "t"}, ())
    assert len(kept) == 24 and all(len(value) == 256 for value in kept.values())
    assert not {"x-api-key", "cookie", "x-session-token"} & set(kept)


def test_the_item_size_effect_is_small() -> None:
    # What the inspector adds to a typical record: the headers a provider sends through API
    # Gateway, the answer, and a full history of failed attempts (the worst case).
    base = WebhookRecord("wh_" + "0" * 32, "stripe", "stripe", "evt_" + "1" * 24, "payment_intent.succeeded",
                         "{}", "2024-01-01T00:00:00.000Z", WebhookStatus.RECEIVED, expires_at=2_000_000_000)
    headers = {"content-type": "application/json; charset=utf-8", "user-agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
               "content-length": "2345", "host": "abc123.execute-api.us-east-1.amazonaws.com",
               "x-forwarded-for": "54.187.174.169", "x-forwarded-port": "443", "x-forwarded-proto": "https",
               "x-amzn-trace-id": "Root=1-65a1b2c3-0123456789abcdef01234567", "accept": "*/*; q=0.5, application/xml",
               "cache-control": "no-cache"}
    fresh = WebhookRecord(**{**base.__dict__, "headers": headers, "answer": "200 accepted"})
    full = WebhookRecord(**{**fresh.__dict__, "attempt_log": tuple(
        attempt_entry(1_700_000_000 + i, "retrying", "processing failed on an internal error; see the processor's logs")
        for i in range(ATTEMPT_HISTORY_LIMIT))})
    added_fresh = dynamodb_item_bytes(fresh.to_item()) - dynamodb_item_bytes(base.to_item())
    added_full = dynamodb_item_bytes(full.to_item()) - dynamodb_item_bytes(base.to_item())
    print(f"inspector bytes: fresh record +{added_fresh}, ten failed attempts +{added_full}")
    assert added_fresh < 600  # about half a write unit more on receipt, at worst
    assert added_full < 2000
