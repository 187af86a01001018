"""`ops list`, `replay` and `redrive` on moto: what they select, reopen, queue and move."""

from __future__ import annotations

import json

from chalicelib.queue import ProcessingQueue
from chalicelib.webhooks.record import WebhookRecord, WebhookStatus
from chalicelib.webhooks.store import WebhookStore
from ops import records

DAY = "2024-05-0{}T12:00:00.000Z"


def put(stack, webhook_id: str, source: str, status: str, day: int) -> WebhookRecord:
    record = WebhookRecord(
        webhook_id=webhook_id, source=source, provider="stripe", event_id=f"evt_{webhook_id}",
        event_type="payment_intent.succeeded", payload='{"big": "payload"}', received_at=DAY.format(day),
        status=status, attempts=1, expires_at=2_000_000_000,
    )
    stack.dynamodb.put_item(TableName=stack.resources.table_name, Item=record.to_item())
    return record


def store_of(stack) -> WebhookStore:
    return WebhookStore(stack.dynamodb, stack.resources.table_name)


def queued_ids(stack, url: str | None = None) -> list[str]:
    return [json.loads(m["Body"])["webhookId"] for m in stack.drain(url)]


def test_find_filters_and_sorts_newest_first_without_payloads(stack):
    # GIVEN records of two sources, statuses and days
    put(stack, "wh_a", "stripe", WebhookStatus.PROCESSED, 1)
    put(stack, "wh_b", "stripe", WebhookStatus.FAILED, 2)
    put(stack, "wh_c", "square", WebhookStatus.FAILED, 3)
    put(stack, "wh_d", "stripe", WebhookStatus.FAILED, 4)

    # WHEN filtered by source, status and a time range
    found = records.find(store_of(stack), records.Filters(source="stripe", status=WebhookStatus.FAILED,
                                                          since=DAY.format(2), until=DAY.format(4)))

    # THEN only the matching ones come back, newest first, without the payload
    assert [r.webhook_id for r in found] == ["wh_b"]
    everything = records.find(store_of(stack), records.Filters(), limit=3)
    assert [r.webhook_id for r in everything] == ["wh_d", "wh_c", "wh_b"]
    assert all(r.payload == "" for r in everything)


def test_replay_reopens_final_records_and_queues_each_once(stack):
    # GIVEN a processed record and one still received
    processed = put(stack, "wh_done", "stripe", WebhookStatus.PROCESSED, 1)
    waiting = put(stack, "wh_waiting", "stripe", WebhookStatus.RECEIVED, 2)
    queue = ProcessingQueue(stack.sqs, "unused", stack.resources.queue_url)
    progressed: list[int] = []

    # WHEN both are replayed
    result = records.replay(store_of(stack), queue, [processed, waiting], progressed.append)

    # THEN the processed one is back to received (so processing runs), and both are queued
    assert result.reopened == ["wh_done"] and result.queued == ["wh_done", "wh_waiting"]
    assert (done := store_of(stack).get("wh_done")) is not None and done.status == WebhookStatus.RECEIVED
    assert sorted(queued_ids(stack)) == ["wh_done", "wh_waiting"]
    assert sum(progressed) == 2


def test_redrive_moves_messages_back_and_reopens_only_failed_records(stack):
    # GIVEN a DLQ holding a failed webhook, a webhook processed meanwhile, and a poison message
    put(stack, "wh_failed", "stripe", WebhookStatus.FAILED, 1)
    put(stack, "wh_processed", "stripe", WebhookStatus.PROCESSED, 2)
    for body in (json.dumps({"webhookId": "wh_failed"}), json.dumps({"webhookId": "wh_processed"}), "garbage"):
        stack.sqs.send_message(QueueUrl=stack.resources.dlq_url, MessageBody=body)
    store = store_of(stack)

    # WHEN a dry run looks first
    dry = records.redrive(stack.sqs, store, stack.resources.dlq_url, stack.resources.queue_url, dry_run=True)

    # THEN it reports all three and moves nothing
    assert sorted(str(letter.webhook_id) for letter in dry) == ["None", "wh_failed", "wh_processed"]
    assert records.dead_letter_count(stack.sqs, stack.resources.dlq_url) == 3
    assert (failed := store.get("wh_failed")) is not None and failed.status == WebhookStatus.FAILED

    # WHEN it is redriven for real
    moved = records.redrive(stack.sqs, store, stack.resources.dlq_url, stack.resources.queue_url)

    # THEN every message is back on the processing queue, the DLQ is empty, and only the failed
    # record was reopened
    assert len(moved) == 3
    assert stack.drain(stack.resources.dlq_url) == []
    bodies = sorted(m["Body"] for m in stack.drain())
    assert bodies == sorted(['{"webhookId": "wh_failed"}', '{"webhookId": "wh_processed"}', "garbage"])
    assert (failed := store.get("wh_failed")) is not None and failed.status == WebhookStatus.RECEIVED
    assert (processed := store.get("wh_processed")) is not None and processed.status == WebhookStatus.PROCESSED


def test_redrive_limit_leaves_the_rest(stack):
    for index in range(3):
        stack.sqs.send_message(QueueUrl=stack.resources.dlq_url, MessageBody=json.dumps({"webhookId": f"wh_{index}"}))

    moved = records.redrive(stack.sqs, store_of(stack), stack.resources.dlq_url, stack.resources.queue_url, limit=2)

    assert len(moved) == 2
    assert len(stack.drain()) == 2
    assert len(stack.drain(stack.resources.dlq_url)) == 1


def test_waiting_returns_once_every_record_is_final_or_at_the_timeout(stack):
    # GIVEN one processed record and one still received
    put(stack, "wh_done", "stripe", WebhookStatus.PROCESSED, 1)
    put(stack, "wh_open", "stripe", WebhookStatus.RECEIVED, 1)

    # WHEN waiting for the processed one: it is returned at once
    [done] = records.wait_until_final(store_of(stack), ["wh_done"], timeout=5, poll_seconds=0.01)
    assert done is not None and done.status == WebhookStatus.PROCESSED

    # WHEN waiting for both, and for one that does not exist: each as it is when time runs out
    found = records.wait_until_final(store_of(stack), ["wh_done", "wh_open", "wh_none"], timeout=0.05,
                                     poll_seconds=0.01)
    statuses = [record.status if record else None for record in found]
    assert statuses == [WebhookStatus.PROCESSED, WebhookStatus.RECEIVED, None]
