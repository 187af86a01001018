"""A provisioned table's throttle (``tableCapacity`` provisioned, docs/DEPLOYING.md): DynamoDB answers
``ProvisionedThroughputExceededException`` once the provisioned units and the burst capacity are
used up. The receiver answers 503 (the provider retries) and stores nothing half; the processor
reports the message, which returns to the queue. Nothing is lost, and nothing is applied twice."""

from __future__ import annotations

import json

from botocore.exceptions import ClientError

from tests import samples
from tests.functional.helpers import fail_aws_call, invoke_processor, post, process_queue, run_outbox, webhook_items

THROTTLED = "ProvisionedThroughputExceededException"


def throttle(operation: str) -> ClientError:
    return ClientError({"Error": {"Code": THROTTLED, "Message": "The level of configured provisioned throughput "
                                  "for the table was exceeded."}}, operation)


def test_a_throttled_receive_is_a_503_that_stores_nothing_and_the_retry_is_stored_once(client, stack):
    body, headers = samples.stripe_delivery(samples.stripe_event())
    with fail_aws_call("dynamodb.PutItem", throttle("PutItem")):
        refused = post(client, "stripe", body, headers)
    assert refused.status_code == 503 and "Retry-After" in refused.headers  # retryable, never a 4xx
    assert webhook_items(stack) == []
    # the provider's retry, once the table has capacity again
    accepted = post(client, "stripe", body, headers)
    assert accepted.status_code == 200
    assert [item["pk"]["S"] for item in webhook_items(stack)] == [json.loads(accepted.body)["webhookId"]]


def test_a_throttled_processing_returns_the_message_and_the_next_receive_applies_it_once(client, stack):
    body, headers = samples.stripe_delivery(samples.stripe_event("payment_intent.succeeded"))
    webhook_id = json.loads(post(client, "stripe", body, headers).body)["webhookId"]
    run_outbox(client, stack)
    messages = stack.sqs.receive_message(QueueUrl=stack.resources.queue_url, MaxNumberOfMessages=10,
                                         AttributeNames=["All"])["Messages"]
    # WHEN the processor's final update is throttled
    with fail_aws_call("dynamodb.UpdateItem", throttle("UpdateItem")):
        result = invoke_processor(client, stack, messages)
    # THEN the message is reported for retry, and the record is not marked done
    assert [failure["itemIdentifier"] for failure in result["batchItemFailures"]] == [messages[0]["MessageId"]]
    [record] = webhook_items(stack)
    assert record["status"]["S"] == "received"
    # AND when it comes back (made visible at once here), it is processed, once
    for message in messages:
        stack.sqs.change_message_visibility(QueueUrl=stack.resources.queue_url,
                                            ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    process_queue(client, stack)
    [record] = webhook_items(stack)
    assert (record["pk"]["S"], record["status"]["S"]) == (webhook_id, "processed")
    payments = [item for item in stack.items() if item.get("itemType", {}).get("S") == "payment"]
    assert len(payments) == 1
