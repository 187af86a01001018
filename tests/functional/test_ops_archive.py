"""`ops show` of an archived webhook and `ops payment --rebuild`, on moto, through the real app.

Deliveries go through the receiver and the processor; a TTL expiry is what DynamoDB Streams would
deliver (moto runs no TTL): the record is deleted from the table and its REMOVE, with the TTL's
identity and the old image, is handed to the audit handler, which archives it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib import runtime
from chalicelib.payments.record import PaymentRecord
from ops.main import main
from tests import samples
from tests.functional.helpers import run_outbox

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/payment-webhooks-local/stream/2024-01-01T00:00:00.000"
PAYMENT = f"stripe:{samples.STRIPE_PAYMENT_ID}"


def deliver(client: Any, stack: Any, event_type: str) -> str:
    body, headers = samples.stripe_delivery(samples.stripe_event(event_type))
    response = client.http.post("/webhook/stripe", body=body, headers=headers)
    assert response.status_code == 200, response.body
    run_outbox(client, stack)  # the table stream queues it
    messages = stack.drain()
    result = client.lambda_.invoke("process_webhooks", {"Records": [
        {"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
         "attributes": m["Attributes"], "messageAttributes": {}, "eventSource": "aws:sqs",
         "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:payment-webhooks-local-processing",
         "awsRegion": "us-east-1", "md5OfBody": m["MD5OfBody"]}
        for m in messages
    ]}).payload
    assert result == {"batchItemFailures": []}
    return str(json.loads(response.body)["webhookId"])


def expire(client: Any, stack: Any, webhook_id: str) -> None:
    """What the TTL does: the item goes, and the stream delivers its REMOVE to the audit."""
    table = stack.resources.table_name
    old = stack.dynamodb.delete_item(TableName=table, Key={"pk": {"S": webhook_id}}, ReturnValues="ALL_OLD")
    removal = {
        "eventID": f"ttl-{webhook_id}", "eventName": "REMOVE", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1", "eventSourceARN": STREAM_ARN,
        "userIdentity": {"type": "Service", "principalId": "dynamodb.amazonaws.com"},
        "dynamodb": {"ApproximateCreationDateTime": 1_716_940_900.0, "Keys": {"pk": {"S": webhook_id}},
                     "OldImage": old["Attributes"], "SequenceNumber": "500", "SizeBytes": 900,
                     "StreamViewType": "NEW_AND_OLD_IMAGES"},
    }
    assert client.lambda_.invoke("audit_changes", {"Records": [removal]}).payload == {"batchItemFailures": []}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any]:
    runtime.reset()
    capsys.readouterr()  # the app's own log lines so far
    code = main([*args, "--json"])
    return code, json.loads(capsys.readouterr().out)


def test_show_finds_an_expired_webhook_in_the_archive_and_says_so(client, stack, target, capsys):
    webhook_id = deliver(client, stack, "payment_intent.succeeded")
    code, live = run(capsys, "show", webhook_id)
    assert code == 0 and live["archived"] is False
    expire(client, stack, webhook_id)

    code, shown = run(capsys, "show", webhook_id, "--payload")

    assert code == 0
    assert shown["archived"] is True and shown["archiveKey"].endswith(f"/{webhook_id}.json")
    assert shown["status"] == "processed" and shown["webhookId"] == webhook_id
    assert json.loads(shown["payload"])["data"]["object"]["id"] == samples.STRIPE_PAYMENT_ID
    runtime.reset()
    capsys.readouterr()
    assert main(["show", webhook_id]) == 0
    assert "archived    yes: the table no longer has it" in capsys.readouterr().out


def test_show_of_a_webhook_in_neither_place_is_an_error(stack, target, capsys):
    assert main(["show", "wh_" + "0" * 32]) != 0
    assert "nor in its archive" in capsys.readouterr().err


def test_rebuild_refolds_live_and_archived_webhooks_and_matches_the_stored_record(client, stack, target, capsys):
    first = deliver(client, stack, "payment_intent.processing")
    second = deliver(client, stack, "payment_intent.succeeded")
    expire(client, stack, first)

    code, report = run(capsys, "payment", PAYMENT, "--rebuild")

    assert code == 0, report
    assert report["matches"] is True and report["differences"] == {}
    assert {(w["webhookId"], w["from"]) for w in report["webhooks"]} == {(first, "archive"), (second, "table")}
    assert report["rebuiltStatus"] == report["storedStatus"] == "succeeded"
    assert report["missing"] == [] and "written" not in report


def test_rebuild_reports_a_difference_and_writes_only_when_asked(client, stack, target, capsys):
    deliver(client, stack, "payment_intent.succeeded")
    table = stack.resources.table_name
    key = {"pk": {"S": f"payment#{PAYMENT}"}}
    stored = stack.dynamodb.get_item(TableName=table, Key=key)["Item"]
    # A record gone wrong (its state plain or packed: issue #16 packs state and history over 1 KB).
    plain = {name: value for name, value in stored.items() if name not in ("document", "documentEncoding")}
    history = json.dumps(list(PaymentRecord.from_item(stored).history))
    tampered = dict(plain, state={"S": "{}"}, history={"S": history}, status={"S": "processing"})
    stack.dynamodb.put_item(TableName=table, Item=tampered)

    code, report = run(capsys, "payment", PAYMENT, "--rebuild")
    assert code == 1 and report["matches"] is False
    assert report["rebuiltStatus"] == "succeeded" and report["differences"]
    assert stack.dynamodb.get_item(TableName=table, Key=key)["Item"] == tampered  # nothing written

    code, report = run(capsys, "payment", PAYMENT, "--rebuild", "--write")
    assert code == 0 and report["written"] is True
    assert report["writtenVersion"] == int(stored["version"]["N"]) + 1
    code, view = run(capsys, "payment", PAYMENT)
    assert view["status"] == "succeeded" and view["version"] == report["writtenVersion"]
    code, again = run(capsys, "payment", PAYMENT, "--rebuild")
    assert code == 0 and again["matches"] is True


def test_write_without_rebuild_is_refused_before_any_call(capsys):
    assert main(["payment", PAYMENT, "--write"]) != 0
    assert "--rebuild" in capsys.readouterr().err
