"""Every flow under the IAM policy the stack really deploys, on an emulator that enforces IAM.

The review that started this tier found the processor's role could not call ``BatchGetItem``,
which the processor had used for a while: every test was green because the emulator authorized
every call. Here each function runs with its own role's credentials (and Lambda's poller for it
too, which on AWS uses the function's role), so a missing grant fails here first. What moto does
and does not evaluate is listed in :mod:`tests.infrastructure.iam_enforced.policies`.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib.timestamps import iso_timestamp
from chalicelib.webhooks.record import WebhookRecord, WebhookStatus, webhook_id_for
from devstack.events import scheduled_event, sqs_event, stream_event
from infrastructure.names import FUNCTIONS
from tests import samples
from tests.functional.events_stub import events_stub
from tests.infrastructure.iam_enforced.resources import denied

pytestmark = pytest.mark.slow


def deliver(world: Any, client: Any, source: str = "stripe", event_id: str | None = None) -> Any:
    body, headers = samples.stripe_delivery(samples.stripe_event(event_id=event_id))
    with world.as_function("api_handler"):
        return client.http.post(f"/webhook/{source}", body=body, headers=headers)


def process(world: Any, client: Any) -> list[dict[str, Any]]:
    """Lambda's SQS poller and the processor, both under the processor's role."""
    results = []
    with world.as_function("process_webhooks"):
        sqs = world.role_session("process_webhooks").client("sqs")
        url = world.resources.queue_url
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"]).get("Messages", [])
        assert messages, "nothing was queued"
        result = client.lambda_.invoke("process_webhooks", sqs_event(messages, world.resources.queue_arn)).payload
        results.append(result)
        failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            sqs.delete_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)]
            )
    return results


def stream_records(world: Any, function: str) -> list[dict[str, Any]]:
    """The table stream's records, read as Lambda's poller does for ``function``: under its role."""
    streams = world.role_session(function).client("dynamodbstreams")
    arn = world.resources.table_stream_arn
    assert arn in [s["StreamArn"] for s in streams.list_streams(TableName=world.resources.table_name)["Streams"]]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        records += streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
    assert records
    return records


def enqueue(world: Any, client: Any) -> dict[str, Any]:
    """Lambda's stream poller and the outbox, both under the outbox's role."""
    with world.as_function("enqueue_new_webhooks"):
        records = stream_records(world, "enqueue_new_webhooks")
        event = stream_event(records, world.resources.table_stream_arn)
        return client.lambda_.invoke("enqueue_new_webhooks", event).payload


def audit(world: Any, client: Any) -> dict[str, Any]:
    """Lambda's stream poller and the audit, both under the audit's role."""
    with world.as_function("audit_changes"):
        streams = world.role_session("audit_changes").client("dynamodbstreams")
        arn = world.resources.table_stream_arn
        assert arn in [s["StreamArn"] for s in streams.list_streams(TableName=world.resources.table_name)["Streams"]]
        records = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"],
                                                  ShardIteratorType="TRIM_HORIZON")
            records += streams.get_records(ShardIterator=iterator["ShardIterator"])["Records"]
        assert records
        return client.lambda_.invoke("audit_changes", stream_event(records, arn)).payload


def status(world: Any, webhook_id: str) -> str:
    item = world.admin.client("dynamodb").get_item(TableName=world.resources.table_name, Key={"pk": {"S": webhook_id}})
    return item["Item"]["status"]["S"]


def test_every_flow_passes_under_the_roles_the_stack_deploys(enforced_stack, enforced_client):
    world = enforced_stack()
    alerts = world.admin.client("sqs").create_queue(QueueName="alert-inbox")["QueueUrl"]
    alerts_arn = world.admin.client("sqs").get_queue_attributes(
        QueueUrl=alerts, AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    world.admin.client("sns").subscribe(
        TopicArn=world.resources.alerts_topic_arn, Protocol="sqs", Endpoint=alerts_arn,
        Attributes={"RawMessageDelivery": "true"},
    )

    # receive: a new event, then the provider's retry of it
    first = deliver(world, enforced_client, event_id="evt_iam_1")
    again = deliver(world, enforced_client, event_id="evt_iam_1")
    assert first.status_code == 200 and again.status_code == 200, first.body
    webhook_id = json.loads(first.body)["webhookId"]
    assert json.loads(again.body)["status"] == "duplicate"

    # enqueue: the table stream's INSERT is sent to the processing queue by the outbox
    assert enqueue(world, enforced_client) == {"batchItemFailures": []}

    # process: read in a batch, payment applied and published, record finished
    [result] = process(world, enforced_client)
    assert result == {"batchItemFailures": []}
    assert status(world, webhook_id) == "processed"
    assert any(item["pk"]["S"].startswith("payment#") for item in world.items())

    # a record that ends failed (as the processor leaves one on its last receive): alerted by the audit
    stuck = WebhookRecord(
        webhook_id="wh_iamstuck", source="stripe", provider="stripe", event_id="evt_stuck",
        event_type="payment_intent.succeeded", payload="{}", received_at=iso_timestamp(time.time() - 7200),
        status=WebhookStatus.RECEIVED, expires_at=2_000_000_000,
    )
    admin_db = world.admin.client("dynamodb")
    admin_db.put_item(TableName=world.resources.table_name, Item=stuck.to_item())
    admin_db.update_item(
        TableName=world.resources.table_name, Key={"pk": {"S": "wh_iamstuck"}}, UpdateExpression="SET #s = :failed",
        ExpressionAttributeNames={"#s": "status"}, ExpressionAttributeValues={":failed": {"S": "failed"}},
    )

    # audit: every change audited, the given-up record alerted
    assert audit(world, enforced_client) == {"batchItemFailures": []}
    received = world.admin.client("sqs").receive_message(QueueUrl=alerts, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["webhookId"] for m in received] == ["wh_iamstuck"]

    # archive: a webhook record the TTL removes is written to the archive bucket under the
    # audit's role (moto runs no TTL: the removal is the stream record DynamoDB would deliver)
    expired = WebhookRecord.from_item(world.admin.client("dynamodb").get_item(
        TableName=world.resources.table_name, Key={"pk": {"S": webhook_id}})["Item"])
    removal = {
        "eventID": "ttl-1", "eventName": "REMOVE", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1", "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {"ApproximateCreationDateTime": time.time(), "Keys": {"pk": {"S": webhook_id}},
                     "OldImage": expired.to_item(), "SequenceNumber": "9" * 21, "SizeBytes": 1000,
                     "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }
    with world.as_function("audit_changes"):
        answer = enforced_client.lambda_.invoke(
            "audit_changes", {"Records": [removal]}).payload
    assert answer == {"batchItemFailures": []}
    archived = world.admin.client("s3").list_objects_v2(Bucket=world.resources.archive_bucket)["Contents"]
    assert sorted(o["Key"].split("/", 1)[0] for o in archived) == ["webhook-ids", "webhooks"]

    # reconcile: with API credentials, the scheduled run lists the provider's events, finds the
    # delivered one stored, stores the missed one, queues it, moves its cursor and alerts
    with events_stub() as (base, provider):
        provider.events.append({**samples.stripe_event(event_id="evt_iam_1"), "created": int(time.time()) - 60})
        provider.add("payment_intent.succeeded", int(time.time()) - 30, "evt_iam_missed")
        secrets = world.admin.client("secretsmanager")
        document = json.loads(secrets.get_secret_value(SecretId=world.resources.secret_id)["SecretString"])
        document["sources"]["stripe"]["api"] = {"key": "rk_test_iam", "baseUrl": base}
        secrets.put_secret_value(SecretId=world.resources.secret_id, SecretString=json.dumps(document))
        with world.as_function("reconcile_missed_webhooks"):
            event = scheduled_event("r", "us-east-1")
            answer = enforced_client.lambda_.invoke("reconcile_missed_webhooks", event).payload
    assert answer["recovered"] == 1 and answer["failed"] == [], answer
    assert answer["sources"]["stripe"]["alreadyStored"] == 1
    assert status(world, webhook_id_for("stripe", "evt_iam_missed")) == WebhookStatus.RECEIVED
    alerted = world.admin.client("sqs").receive_message(QueueUrl=alerts, MaxNumberOfMessages=10)["Messages"]
    assert any(webhook_id_for("stripe", "evt_iam_missed") in m["Body"] for m in alerted)

    # and every call each function's code made was on a resource its policy names
    for function in FUNCTIONS:
        calls = world.calls_by_function[function.name]
        assert calls, f"{function.name} made no AWS call: the tier judged nothing"
        assert denied(calls, world.documents[function.name]) == [], function.name


def test_a_processor_role_without_batch_get_item_cannot_process(enforced_stack, enforced_client):
    # GIVEN the processor's policy as deployed before the fix: BatchGetItem missing
    world = enforced_stack(without={"process_webhooks": "dynamodb:BatchGetItem"})
    response = deliver(world, enforced_client)
    assert response.status_code == 200
    webhook_id = json.loads(response.body)["webhookId"]
    assert enqueue(world, enforced_client) == {"batchItemFailures": []}

    # WHEN the processor gets its message
    [result] = process(world, enforced_client)

    # THEN AWS's answer (AccessDenied) fails the whole batch and nothing is processed
    assert len(result["batchItemFailures"]) == 1
    assert status(world, webhook_id) == WebhookStatus.RECEIVED


def test_an_outbox_role_without_send_message_reports_the_record_for_a_retry(enforced_stack, enforced_client):
    world = enforced_stack(without={"enqueue_new_webhooks": "sqs:SendMessage"})
    assert deliver(world, enforced_client).status_code == 200
    [insert] = [r for r in stream_records(world, "enqueue_new_webhooks") if r["eventName"] == "INSERT"
                and r["dynamodb"]["NewImage"]["itemType"]["S"] == "webhook"]
    result = enqueue(world, enforced_client)
    assert result == {"batchItemFailures": [{"itemIdentifier": insert["dynamodb"]["SequenceNumber"]}]}


def test_a_receiver_role_without_put_item_answers_503_and_stores_nothing(enforced_stack, enforced_client):
    world = enforced_stack(without={"api_handler": "dynamodb:PutItem"})
    response = deliver(world, enforced_client)
    assert response.status_code == 503
    assert world.items() == []


def test_queue_access_is_scoped_to_the_queues_a_role_names(enforced_stack):
    # moto evaluates SQS resources: the receiver may send to the processing queue only
    world = enforced_stack()
    sqs = world.role_session("api_handler").client("sqs")
    sqs.send_message(QueueUrl=world.resources.queue_url, MessageBody='{"webhookId":"wh_x"}')
    with pytest.raises(ClientError) as refused:
        sqs.send_message(QueueUrl=world.resources.dlq_url, MessageBody='{"webhookId":"wh_x"}')
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403  # AccessDenied
    assert "not authorized to perform: sqs:SendMessage" in str(refused.value)


def test_the_resource_check_refuses_a_call_outside_the_policy(enforced_stack):
    # The resource judge itself can fail: a write to another table is refused by the receiver's policy.
    from tests.infrastructure.iam_enforced.resources import Call

    world = enforced_stack()
    table_arn = world.recorder.arns[world.resources.table_name]
    other = table_arn.replace(world.resources.table_name, "someone-elses-table")
    calls = [Call("dynamodb:PutItem", table_arn), Call("dynamodb:PutItem", other)]
    assert denied(calls, world.documents["api_handler"]) == [calls[1]]
