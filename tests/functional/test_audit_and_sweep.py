"""The table stream's two consumers, the audit and the outbox, and recovering what the outbox gave
up on, through chalice's test client."""

from __future__ import annotations

import json
import time

from chalicelib import runtime
from chalicelib.timestamps import iso_timestamp
from chalicelib.webhooks.record import WebhookRecord, WebhookStatus
from tests.functional.helpers import log_lines

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/payment-webhooks-local/stream/2024-01-01T00:00:00.000"


def image(status: str, **extra: str) -> dict:
    item = {
        "pk": {"S": "wh_abc"}, "itemType": {"S": "webhook"}, "source": {"S": "stripe"},
        "provider": {"S": "stripe"}, "eventId": {"S": "evt_1"}, "eventType": {"S": "charge.refunded"},
        "status": {"S": status}, "attempts": {"N": "1"}, "payload": {"S": '{"secret":"not logged"}'},
    }
    item.update({key: {"S": value} for key, value in extra.items()})
    return item


def record(name: str, old: dict | None, new: dict | None, seq: str, ttl: bool = False) -> dict:
    """One DynamoDB Streams record in the shape Lambda delivers."""
    dynamodb = {
        "ApproximateCreationDateTime": 1_700_000_000.0,
        "Keys": {"pk": {"S": "wh_abc"}},
        "SequenceNumber": seq,
        "SizeBytes": 321,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    if old is not None:
        dynamodb["OldImage"] = old
    if new is not None:
        dynamodb["NewImage"] = new
    result = {
        "eventID": f"id-{seq}", "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1", "dynamodb": dynamodb, "eventSourceARN": STREAM_ARN,
    }
    if ttl:
        result["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return result


def alerts(stack, queue_url: str) -> list[dict]:
    return [json.loads(m["Body"]) for m in stack.drain(queue_url)]


def test_every_change_is_one_audit_line_and_failures_and_removals_alert(client, stack, capsys):
    alert_queue = stack.subscribe_queue(stack.resources.alerts_topic_arn, "alert-inbox")
    event = {"Records": [
        record("INSERT", None, image("received"), "100"),
        record("MODIFY", image("received"), image("processed"), "101"),
        record("MODIFY", image("received"), image("failed", lastError="processing failed"), "102"),
        record("REMOVE", image("processed"), None, "103"),
        record("REMOVE", image("processed"), None, "104", ttl=True),
    ]}

    result = client.lambda_.invoke("audit_changes", event).payload

    assert result == {"batchItemFailures": []}
    lines = [line for line in log_lines(capsys.readouterr().out) if line.get("audit") == "webhook"]
    # (Powertools leaves out fields that are None: an INSERT has no old status.)
    assert [(line["change"], line.get("oldStatus"), line.get("newStatus")) for line in lines] == [
        ("INSERT", None, "received"),
        ("MODIFY", "received", "processed"),
        ("MODIFY", "received", "failed"),
        ("REMOVE", "processed", None),
        ("REMOVE", "processed", None),
    ]
    assert all(line["webhookId"] == "wh_abc" and line["source"] == "stripe" for line in lines)
    assert lines[0]["at"] == "2023-11-14T22:13:20Z" and lines[4]["removedBy"] == "ttl"
    assert "not logged" not in json.dumps(lines)
    received = alerts(stack, alert_queue)
    assert [(a["alert"], a["sequenceNumber"]) for a in received] == [
        ("A webhook failed processing and was dead-lettered", "102"),
        ("A webhook record was removed", "103"),
    ]


def test_an_odd_record_is_reported_without_losing_the_ones_before_it(client, stack, capsys):
    event = {"Records": [
        record("INSERT", None, image("received"), "200"),
        {"eventName": "INSERT", "dynamodb": {"SequenceNumber": "201", "NewImage": "garbage"}},
        record("MODIFY", image("received"), image("processed"), "202"),
    ]}

    result = client.lambda_.invoke("audit_changes", event).payload

    # The stream retries from 201 (bisect and the on-failure destination isolate it in AWS).
    assert result == {"batchItemFailures": [{"itemIdentifier": "201"}]}
    changes = [line["change"] for line in log_lines(capsys.readouterr().out) if line.get("audit")]
    assert changes == ["INSERT"]


def test_alert_publish_failure_is_reported_for_retry(client, stack):
    from botocore.exceptions import ClientError

    from tests.functional.helpers import fail_aws_call

    event = {"Records": [record("REMOVE", image("processed"), None, "300")]}
    with fail_aws_call("sns.Publish", ClientError({"Error": {"Code": "Throttling", "Message": "x"}}, "Publish")):
        result = client.lambda_.invoke("audit_changes", event).payload
    assert result == {"batchItemFailures": [{"itemIdentifier": "300"}]}


def put(stack, *records: WebhookRecord) -> None:
    for item in records:
        stack.dynamodb.put_item(TableName=stack.resources.table_name, Item=item.to_item())


def queued_ids(stack) -> list[str]:
    return [json.loads(m["Body"])["webhookId"] for m in stack.drain()]



# -- the outbox: the table stream queues every new webhook (chalicelib/outbox.py) ---------------


def webhook_insert(webhook_id: str, seq: str, status: str = "received") -> dict:
    new = image(status)
    new["pk"] = {"S": webhook_id}
    change = record("INSERT", None, new, seq)
    change["dynamodb"]["Keys"] = {"pk": {"S": webhook_id}}
    return change


def other_item_insert(item_type: str, seq: str) -> dict:
    return record("INSERT", None, {"pk": {"S": f"{item_type}#x"}, "itemType": {"S": item_type}}, seq)


def test_the_outbox_queues_only_webhook_inserts_still_received(client, stack):
    event = {"Records": [
        webhook_insert("wh_new", "400"),
        record("MODIFY", image("received"), image("processed"), "401"),
        record("MODIFY", image("processed"), image("received"), "402"),  # a reopen: ops sends it itself
        record("REMOVE", image("received"), None, "403", ttl=True),
        other_item_insert("dedupe", "404"),
        other_item_insert("payment", "405"),
        webhook_insert("wh_final", "406", status="processed"),
        webhook_insert("wh_second", "407"),
    ]}

    result = client.lambda_.invoke("enqueue_new_webhooks", event).payload

    assert result == {"batchItemFailures": []}
    assert sorted(queued_ids(stack)) == ["wh_new", "wh_second"]


def test_the_outbox_sends_in_batches_of_ten(client, stack):
    calls: list[str] = []
    sqs = runtime.services().aws.sqs
    sqs.meta.events.register("before-call", lambda model, **_: calls.append(model.name), unique_id="count")
    event = {"Records": [webhook_insert(f"wh_{i:02d}", str(500 + i)) for i in range(23)]}

    assert client.lambda_.invoke("enqueue_new_webhooks", event).payload == {"batchItemFailures": []}

    assert len(queued_ids(stack)) == 23
    assert [c for c in calls if c.startswith("SendMessage")] == ["SendMessageBatch"] * 3  # 10 + 10 + 3


def test_an_outbox_send_failure_is_retried_from_the_first_record_of_the_failed_send(client, stack):
    from botocore.exceptions import ClientError

    from tests.functional.helpers import fail_aws_call

    # GIVEN a batch whose first send (ten ids) goes through and whose second fails
    records = [webhook_insert(f"wh_{i:02d}", str(600 + i)) for i in range(15)]
    sqs = runtime.services().aws.sqs
    sends = 0

    def second_fails(model, **_):
        nonlocal sends
        if model.name.startswith("SendMessage"):
            sends += 1
            if sends == 2:
                raise ClientError({"Error": {"Code": "KMS.ThrottlingException", "Message": "x"}}, model.name)

    sqs.meta.events.register("before-call", second_fails, unique_id="second-fails")
    result = client.lambda_.invoke("enqueue_new_webhooks", {"Records": records}).payload
    sqs.meta.events.unregister("before-call", unique_id="second-fails")

    # THEN the stream retries from the first record of the failed send: nothing after it is skipped
    assert result == {"batchItemFailures": [{"itemIdentifier": "610"}]}
    assert len(queued_ids(stack)) == 10
    # AND when every send fails, from the first record
    error = ClientError({"Error": {"Code": "InternalError", "Message": "x"}}, "SendMessageBatch")
    with fail_aws_call("sqs.SendMessageBatch", error):
        result = client.lambda_.invoke("enqueue_new_webhooks", {"Records": records}).payload
    assert result == {"batchItemFailures": [{"itemIdentifier": "600"}]}


def test_an_odd_webhook_insert_is_reported_after_the_ones_before_it_are_sent(client, stack):
    odd = webhook_insert("not-a-webhook-id", "701")
    event = {"Records": [webhook_insert("wh_a", "700"), odd, webhook_insert("wh_b", "702"), "garbage"]}

    result = client.lambda_.invoke("enqueue_new_webhooks", event).payload

    assert result == {"batchItemFailures": [{"itemIdentifier": "701"}]}
    assert queued_ids(stack) == ["wh_a"]


def test_a_stored_webhook_reaches_the_queue_through_the_table_stream(client, stack):
    from tests import samples
    from tests.functional.helpers import post, run_outbox

    body, headers = samples.stripe_delivery(samples.stripe_event())
    answer = json.loads(post(client, "stripe", body, headers).body)
    assert queued_ids(stack) == []

    assert run_outbox(client, stack) == {"batchItemFailures": []}
    assert queued_ids(stack) == [answer["webhookId"]]


# -- recovering what the outbox gave up on (ops requeue) ------------------------------------------


def failure_message(stream_arn: str, shard_id: str, first: str, last: str) -> str:
    """Lambda's on-failure record of a DynamoDB stream batch (what lands in the enqueue-failures queue)."""
    return json.dumps({
        "requestContext": {"requestId": "r-1", "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
                           "condition": "RetryAttemptsExhausted", "approximateInvokeCount": 11},
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "version": "1.0", "timestamp": "2026-12-01T12:00:00.000Z",
        "DDBStreamBatchInfo": {"shardId": shard_id, "startSequenceNumber": first, "endSequenceNumber": last,
                               "approximateArrivalOfFirstRecord": "2026-12-01T11:59:00Z",
                               "approximateArrivalOfLastRecord": "2026-12-01T11:59:01Z", "batchSize": 3,
                               "streamArn": stream_arn},
    })


def test_requeue_from_failures_resends_the_received_webhooks_of_a_given_up_range(client, stack):
    from botocore.config import Config

    from infrastructure.names import StageNames
    from ops import requeue
    from tests import samples
    from tests.functional.helpers import post, process_queue, stream_records

    # GIVEN three webhooks whose stream batch the outbox gave up on, one since processed anyway
    ids = []
    for _ in range(3):
        body, headers = samples.stripe_delivery(samples.stripe_event())
        ids.append(json.loads(post(client, "stripe", body, headers).body)["webhookId"])
    records = stream_records(stack)  # consumed: never reached the outbox
    inserts = [r for r in records
               if r["eventName"] == "INSERT" and r["dynamodb"]["NewImage"]["itemType"]["S"] == "webhook"]
    assert [r["dynamodb"]["NewImage"]["pk"]["S"] for r in inserts] == ids
    runtime.services().queue.send([ids[0]])  # e.g. the provider's retry past the resend delay
    process_queue(client, stack)
    shard = stack.session.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled")).describe_stream(
        StreamArn=stack.resources.table_stream_arn)["StreamDescription"]["Shards"][0]["ShardId"]
    failures = stack.sqs.create_queue(QueueName=StageNames("local").enqueue_failure_queue)["QueueUrl"]
    stack.sqs.send_message(QueueUrl=failures, MessageBody=failure_message(
        stack.resources.table_stream_arn, shard, records[0]["dynamodb"]["SequenceNumber"],
        records[-1]["dynamodb"]["SequenceNumber"]))
    streams = stack.session.client("dynamodbstreams", config=Config(account_id_endpoint_mode="disabled"))
    store, queue = runtime.services().store, runtime.services().queue

    # WHEN the operator runs `ops requeue --from-failures` (a dry run first)
    dry = requeue.from_failures(stack.sqs, streams, store, queue, failures, dry_run=True)
    assert dry.queued == ids[1:] and queued_ids(stack) == []
    stack.sqs.purge_queue(QueueUrl=failures)
    stack.sqs.send_message(QueueUrl=failures, MessageBody=failure_message(
        stack.resources.table_stream_arn, shard, records[0]["dynamodb"]["SequenceNumber"],
        records[-1]["dynamodb"]["SequenceNumber"]))
    result = requeue.from_failures(stack.sqs, streams, store, queue, failures)

    # THEN the two still received are queued, the processed one left alone, the failure message gone
    assert result.queued == ids[1:] and result.skipped == [ids[0]] and result.ranges == 1
    assert queued_ids(stack) == ids[1:]
    assert stack.sqs.receive_message(QueueUrl=failures).get("Messages", []) == []


def test_requeue_by_scan_resends_only_records_received_before_the_cutoff(client, stack):
    from ops import requeue

    now = time.time()
    old = WebhookRecord(
        webhook_id="wh_old", source="stripe", provider="stripe", event_id="evt_old", event_type="x", payload="{}",
        received_at=iso_timestamp(now - 3600), status=WebhookStatus.RECEIVED, expires_at=2_000_000_000,
    )
    young = WebhookRecord(
        webhook_id="wh_young", source="stripe", provider="stripe", event_id="evt_young", event_type="x",
        payload="{}", received_at=iso_timestamp(now - 60), status=WebhookStatus.RECEIVED, expires_at=2_000_000_000,
    )
    done = WebhookRecord(
        webhook_id="wh_done", source="stripe", provider="stripe", event_id="evt_done", event_type="x", payload="{}",
        received_at=iso_timestamp(now - 3600), status=WebhookStatus.PROCESSED, expires_at=2_000_000_000,
    )
    put(stack, old, young, done)

    result = requeue.by_scan(runtime.services().store, runtime.services().queue, iso_timestamp(now - 900))

    assert result.queued == ["wh_old"] and queued_ids(stack) == ["wh_old"]
