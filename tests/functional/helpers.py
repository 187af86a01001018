"""Helpers for driving the app like API Gateway and Lambda's pollers would."""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.config import Config

from chalicelib import runtime
from devstack.events import sqs_event, stream_event


def post(client: Any, source: str, body: bytes, headers: dict[str, str]) -> Any:
    return client.http.post(f"/webhook/{source}", body=body, headers=headers)


@contextmanager
def fail_aws_call(operation: str, error: Exception) -> Iterator[None]:
    """Make one AWS operation of the running app fail, e.g. ``"dynamodb.PutItem"``.

    The fault is injected in botocore itself (a ``before-call`` hook on the app's own client), so
    everything above the wire runs for real.
    """
    service, name = operation.split(".")
    client = getattr(runtime.services().aws, service)

    def raise_error(model: Any, **_: Any) -> None:
        if model.name == name:
            raise error

    client.meta.events.register("before-call", raise_error, unique_id=f"fault-{operation}")
    try:
        yield
    finally:
        client.meta.events.unregister("before-call", unique_id=f"fault-{operation}")


# Where each test stack's stream was last read, per shard: every record goes to the outbox once.
_stream_positions: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()


def stream_records(stack: Any) -> list[dict[str, Any]]:
    """The table stream's records not read before (from its oldest, as the outbox mapping starts)."""
    # botocore's account-based endpoint (<account>.streams-ddb...) is one moto does not route.
    streams = stack.session.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    arn = stack.resources.table_stream_arn
    positions = _stream_positions.setdefault(stack, {})
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        shard_id = shard["ShardId"]
        iterator = positions.get(shard_id) or streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = streams.get_records(ShardIterator=iterator, Limit=100)
            records.extend(response.get("Records", []))
            iterator = response.get("NextShardIterator")
            positions[shard_id] = iterator
            if not response.get("Records"):
                break
    return records


def run_outbox(client: Any, stack: Any) -> dict[str, Any]:
    """Hand the stream's new records to the outbox (``enqueue_new_webhooks``) as Lambda would;
    with no test ``client``, to its module directly."""
    records = stream_records(stack)
    if not records:
        return {"batchItemFailures": []}
    event = stream_event(records, stack.resources.table_stream_arn)
    if client is None:
        from chalicelib import outbox

        return outbox.enqueue_batch(event, runtime.services().outbox)
    result: dict[str, Any] = client.lambda_.invoke("enqueue_new_webhooks", event).payload
    return result


def invoke_processor(client: Any, stack: Any, messages: list[dict[str, Any]]) -> dict[str, Any]:
    event = sqs_event(messages, stack.resources.queue_arn)
    return client.lambda_.invoke("process_webhooks", event).payload


def process_queue(client: Any, stack: Any, rounds: int = 20) -> int:
    """Run the processor as Lambda's SQS poller would until the queue is empty.

    First the table stream's new records go through the outbox, which queues the new webhooks.
    Succeeded messages are deleted; failed ones are made visible again at once (instead of after
    the visibility timeout), so SQS's own redrive policy moves them to the DLQ after N receives.
    Returns how many messages were handed to the processor.
    """
    url = stack.resources.queue_url
    handled = 0
    for _ in range(rounds):
        run_outbox(client, stack)  # the table stream queues what was stored since the last round
        messages = stack.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10,
                                             AttributeNames=["All"]).get("Messages", [])
        if not messages:
            return handled
        handled += len(messages)
        result = invoke_processor(client, stack, messages)
        failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
        for message in messages:
            if message["MessageId"] in failed:
                stack.sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"],
                                                    VisibilityTimeout=0)
            else:
                stack.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    raise AssertionError("the queue did not drain")


def webhook_items(stack: Any) -> list[dict[str, Any]]:
    """The table's webhook records; processing a payment event also stores a payment record."""
    return [item for item in stack.items() if item.get("itemType", {}).get("S") == "webhook"]


def log_lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]
