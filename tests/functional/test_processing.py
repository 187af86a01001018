"""The SQS processor through chalice's test client: idempotence, partial batches, dead-lettering."""

from __future__ import annotations

import json

from chalicelib.webhooks.record import WebhookRecord, WebhookStatus
from tests import samples
from tests.functional.helpers import invoke_processor, post, process_queue, run_outbox


def deliver(client, source: str, delivery: tuple[bytes, dict[str, str]]) -> str:
    body, headers = delivery
    response = post(client, source, body, headers)
    assert response.status_code == 200
    return json.loads(response.body)["webhookId"]


def status_of(stack, webhook_id: str) -> dict:
    return stack.dynamodb.get_item(TableName=stack.resources.table_name, Key={"pk": {"S": webhook_id}})["Item"]


def test_payment_events_are_processed_and_others_ignored(client, stack):
    paid = deliver(client, "stripe", samples.stripe_delivery(samples.stripe_event("payment_intent.succeeded")))
    other = deliver(client, "stripe", samples.stripe_delivery(samples.stripe_event("customer.created")))

    process_queue(client, stack)

    assert status_of(stack, paid)["status"]["S"] == "processed"
    assert status_of(stack, other)["status"]["S"] == "ignored"
    for webhook_id in (paid, other):
        item = status_of(stack, webhook_id)
        assert item["attempts"]["N"] == "1" and "sweepKey" not in item and "finishedAt" not in item
        # when it finished is the attempt history's last entry (no separate finishedAt: issue #16)
        last = item["attemptLog"]["L"][-1]["M"]
        assert last["outcome"]["S"] == item["status"]["S"] and last["at"]["S"] >= item["receivedAt"]["S"]


def test_a_poison_message_fails_alone(client, stack):
    # GIVEN a batch of two good messages and one that can never be processed
    good = [deliver(client, "stripe", samples.stripe_delivery(samples.stripe_event())) for _ in range(2)]
    run_outbox(client, stack)
    stack.sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody="not json at all")
    messages = stack.sqs.receive_message(QueueUrl=stack.resources.queue_url, MaxNumberOfMessages=10,
                                         AttributeNames=["All"])["Messages"]
    assert len(messages) == 3
    poison = next(m["MessageId"] for m in messages if m["Body"] == "not json at all")

    # WHEN the processor handles the batch
    result = invoke_processor(client, stack, messages)

    # THEN exactly the poison message is reported back, and its neighbours are done
    assert result == {"batchItemFailures": [{"itemIdentifier": poison}]}
    assert all(status_of(stack, webhook_id)["status"]["S"] == "processed" for webhook_id in good)


def test_redelivered_message_for_a_final_record_does_nothing(client, stack):
    webhook_id = deliver(client, "stripe", samples.stripe_delivery(samples.stripe_event()))
    process_queue(client, stack)
    stack.sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody=json.dumps({"webhookId": webhook_id}))

    process_queue(client, stack)

    item = status_of(stack, webhook_id)
    assert item["status"]["S"] == "processed" and item["attempts"]["N"] == "1"


def test_a_webhook_that_always_fails_ends_failed_in_the_dlq(client, stack):
    # GIVEN a stored webhook that processing cannot handle (its provider is not known)
    record = WebhookRecord(
        webhook_id="wh_alwaysfails", source="legacy", provider="no-such-provider", event_id="evt_1",
        event_type="payment_intent.succeeded", payload="{}", received_at="2024-01-01T00:00:00.000Z",
        status=WebhookStatus.RECEIVED, expires_at=2_000_000_000,
    )
    stack.dynamodb.put_item(TableName=stack.resources.table_name, Item=record.to_item())  # the stream queues it

    # WHEN the poller keeps retrying it as SQS redelivers it
    handled = process_queue(client, stack)

    # THEN after maxReceiveCount receives it is in the DLQ and the record is failed, with a safe reason
    assert handled == 5
    [dead] = stack.drain(stack.resources.dlq_url)
    assert json.loads(dead["Body"]) == {"webhookId": "wh_alwaysfails"}
    item = status_of(stack, "wh_alwaysfails")
    assert item["status"]["S"] == "failed"
    assert item["attempts"]["N"] == "5"
    assert "internal error" in item["lastError"]["S"] and "KeyError" not in item["lastError"]["S"]
