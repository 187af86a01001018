"""The stream audit handler and the sweeper through chalice's test client."""

from __future__ import annotations

import itertools
import json
import time

from chalicelib import runtime, sweeper
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


def stuck_record(webhook_id: str, received_at: float, sweep_after: int = 900) -> WebhookRecord:
    return WebhookRecord(
        webhook_id=webhook_id, source="stripe", provider="stripe", event_id=f"evt_{webhook_id}",
        event_type="payment_intent.succeeded", payload="{}", received_at=iso_timestamp(received_at),
        status=WebhookStatus.RECEIVED, expires_at=2_000_000_000, sweep_at=iso_timestamp(received_at + sweep_after),
    )


def put(stack, *records: WebhookRecord) -> None:
    for item in records:
        stack.dynamodb.put_item(TableName=stack.resources.table_name, Item=item.to_item())


def queued_ids(stack) -> list[str]:
    return [json.loads(m["Body"])["webhookId"] for m in stack.drain()]


def test_sweeper_requeues_only_records_stuck_in_received(client, stack):
    # GIVEN a record stuck in `received` for an hour with no message in flight, and a fresh one
    put(stack, stuck_record("wh_stuck", time.time() - 3600), stuck_record("wh_fresh", time.time()))

    # WHEN the scheduled sweeper runs
    scheduled = client.events.generate_cw_event(
        source="aws.events", detail_type="Scheduled Event", detail={},
        resources=["arn:aws:events:us-east-1:123456789012:rule/sweep"],
    )
    result = client.lambda_.invoke("sweep_stuck_webhooks", scheduled).payload

    # THEN only the stuck one is queued, its sweep is counted and its next one pushed back
    assert result == {"requeued": 1, "gaveUp": 0}
    assert queued_ids(stack) == ["wh_stuck"]
    swept = runtime.services().store.get("wh_stuck")
    assert swept is not None and swept.sweeps == 1 and swept.sweep_at is not None
    assert swept.sweep_at > iso_timestamp(time.time())


def sweep_at(moment: float) -> dict:
    return sweeper.sweep(runtime.services().sweep, now=moment).to_json()


def test_a_record_that_is_never_processed_ends_failed_and_alerted_after_bounded_sweeps(client, stack):
    # GIVEN a record the processor never finishes (its messages are lost every time, as when the
    # processor cannot read it and SQS dead-letters them), and the default five sweeps
    alert_queue = stack.subscribe_queue(stack.resources.alerts_topic_arn, "alert-inbox")
    start = time.time()
    put(stack, stuck_record("wh_never", start))
    store = runtime.services().store
    max_sweeps = runtime.services().settings.max_sweeps
    assert max_sweeps == 5

    # WHEN the sweeper runs every five minutes for a day, and each message it sends is lost
    outcomes, sweep_times = [], []
    for minute in range(0, 24 * 60, 5):
        result = sweep_at(start + minute * 60)
        if result != {"requeued": 0, "gaveUp": 0}:
            outcomes.append(result)
            sweep_times.append(minute)
        stack.drain()

    # THEN it was re-queued five times, further and further apart, and then given up on once
    assert outcomes == [{"requeued": 1, "gaveUp": 0}] * max_sweeps + [{"requeued": 0, "gaveUp": 1}]
    gaps = [b - a for a, b in itertools.pairwise(sweep_times)]
    assert sweep_times[0] == 15 and gaps == [15, 30, 60, 60, 60]
    record = store.get("wh_never")
    assert record is not None and record.status == "failed" and record.sweeps == max_sweeps
    assert record.last_error == sweeper.GAVE_UP_REASON.format(sweeps=max_sweeps)
    item = stack.dynamodb.get_item(TableName=stack.resources.table_name, Key={"pk": {"S": "wh_never"}})["Item"]
    assert "sweepKey" not in item and "sweepAt" not in item  # out of the sweep index
    assert item["attempts"]["N"] == "0"  # no processing attempt is invented

    # AND the audit of that change alerts a human with the safe reason
    new = {key: value for key, value in item.items()}
    old = {**new, "status": {"S": "received"}}
    event = {"Records": [record_of("MODIFY", old, new, "900")]}
    assert client.lambda_.invoke("audit_changes", event).payload == {"batchItemFailures": []}
    [alert] = alerts(stack, alert_queue)
    assert alert["webhookId"] == "wh_never" and alert["lastError"] == record.last_error


def record_of(name: str, old: dict, new: dict, seq: str) -> dict:
    result = record(name, old, new, seq)
    result["dynamodb"]["Keys"] = {"pk": new["pk"]}
    return result


def test_a_backlog_larger_than_one_run_is_worked_through_oldest_first(client, stack, monkeypatch):
    # GIVEN twelve stuck records, an hour to a few minutes old, and runs limited to five
    monkeypatch.setattr(sweeper, "MAX_PER_RUN", 5)
    now = time.time()
    records = [stuck_record(f"wh_{n:02d}", now - 3600 + n * 60) for n in range(12)]
    put(stack, *reversed(records))
    shards = {item["sweepKey"]["S"] for item in stack.items()}
    assert len(shards) > 1  # spread over the index's shards, and queried across all of them

    # WHEN the sweeper runs three times
    runs = []
    for _ in range(3):
        sweep_at(now)
        runs.append(queued_ids(stack))

    # THEN each run took the oldest ones not yet swept, and every record was re-queued once
    ids = [r.webhook_id for r in records]
    assert runs == [ids[0:5], ids[5:10], ids[10:12]]


def test_a_replayed_record_starts_its_sweeps_afresh(stack):
    store = runtime.services().store
    put(stack, stuck_record("wh_tired", time.time() - 7200))
    sweep_at(time.time())
    assert (tired := store.get("wh_tired")) is not None and tired.sweeps == 1
    assert store.give_up("wh_tired", time.time(), "test")
    later = iso_timestamp(time.time() + 900)
    assert store.reopen("wh_tired", later)
    reopened = store.get("wh_tired")
    assert reopened is not None
    assert reopened.status == WebhookStatus.RECEIVED and reopened.sweeps == 0 and reopened.sweep_at == later


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
