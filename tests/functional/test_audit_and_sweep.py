"""The stream audit handler and the sweeper through chalice's test client."""

from __future__ import annotations

import json
import time

from chalicelib.store import RECEIVED, WebhookRecord
from chalicelib.timestamps import iso_timestamp
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
    from tests.functional.helpers import fail_aws_call
    from botocore.exceptions import ClientError

    event = {"Records": [record("REMOVE", image("processed"), None, "300")]}
    with fail_aws_call("sns.Publish", ClientError({"Error": {"Code": "Throttling", "Message": "x"}}, "Publish")):
        result = client.lambda_.invoke("audit_changes", event).payload
    assert result == {"batchItemFailures": [{"itemIdentifier": "300"}]}


def test_sweeper_requeues_only_records_stuck_in_received(client, stack):
    # GIVEN a record stuck in `received` for an hour with no message in flight, and a fresh one
    hour_ago = time.time() - 3600
    stuck = WebhookRecord(
        webhook_id="wh_stuck", source="stripe", provider="stripe", event_id="evt_stuck",
        event_type="payment_intent.succeeded", payload="{}", received_at=iso_timestamp(hour_ago),
        status=RECEIVED, expires_at=2_000_000_000,
    )
    fresh = WebhookRecord(**{**stuck.__dict__, "webhook_id": "wh_fresh", "received_at": iso_timestamp(time.time())})
    for item in (stuck, fresh):
        stack.dynamodb.put_item(TableName=stack.resources.table_name, Item=item.to_item())

    # WHEN the scheduled sweeper runs
    scheduled = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={},
        resources=["arn:aws:events:us-east-1:123456789012:rule/sweep"],
    )
    result = client.lambda_.invoke("sweep_stuck_webhooks", scheduled).payload

    # THEN only the stuck one is queued, and processing then finishes it
    assert result == {"requeued": 1}
    messages = stack.sqs.receive_message(QueueUrl=stack.resources.queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [{"webhookId": "wh_stuck"}]
