"""The webhook archive: TTL removals on the table's stream land in S3 through the audit handler."""

from __future__ import annotations

import json

import pytest

from chalicelib import archive
from chalicelib.webhooks.record import WebhookRecord, attempt_entry, dedupe_marker_item
from tests.functional.helpers import log_lines

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/payment-webhooks-local/stream/2024-01-01T00:00:00.000"
PAYLOAD = '{"id":"evt_1","object":"event","data":{"object":{"id":"pi_1","amount":1999}}, "note":"caf\\u00e9 \u00e9"}'


def webhook(webhook_id: str = "wh_0123456789abcdef0123456789abcdef") -> WebhookRecord:
    return WebhookRecord(
        webhook_id, "stripe-eu", "stripe", "evt_1", "payment_intent.succeeded", PAYLOAD,
        "2024-02-29T23:59:58.123Z", "processed", attempts=2, expires_at=1_716_940_798,
        payload_sha256="ab" * 32, headers={"user-agent": "Stripe/1.0"}, answer="200 accepted",
        attempt_log=(attempt_entry(1_709_251_198.0, "processed"),),
    )


def removal(old: dict, seq: str, ttl: bool = True) -> dict:
    """A REMOVE as DynamoDB Streams delivers it to Lambda (TTL: the service's identity)."""
    result = {
        "eventID": f"id-{seq}", "eventName": "REMOVE", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1", "eventSourceARN": STREAM_ARN,
        "dynamodb": {
            "ApproximateCreationDateTime": 1_716_940_900.0, "Keys": {"pk": old["pk"]}, "OldImage": old,
            "SequenceNumber": seq, "SizeBytes": 900, "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
    }
    if ttl:
        result["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return result


def objects(stack) -> dict[str, bytes]:
    s3 = stack.session.client("s3")
    listed = s3.list_objects_v2(Bucket=stack.resources.archive_bucket).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=stack.resources.archive_bucket, Key=o["Key"])["Body"].read() for o in listed}


def test_a_ttl_removal_is_archived_with_its_payload_exactly_as_stored(client, stack, capsys):
    record = webhook()
    marker = dedupe_marker_item(record.webhook_id, "ab" * 32, 1, 2)
    event = {"Records": [removal(record.to_item(), "200"), removal(marker, "201")]}

    result = client.lambda_.invoke("audit_changes", event).payload

    assert result == {"batchItemFailures": []}
    stored = objects(stack)
    key = "webhooks/stripe-eu/2024/02/29/wh_0123456789abcdef0123456789abcdef.json"
    assert set(stored) == {key, "webhook-ids/wh_0123456789abcdef0123456789abcdef"}  # no marker archived
    assert stored["webhook-ids/wh_0123456789abcdef0123456789abcdef"].decode() == key
    document = json.loads(stored[key])
    assert document["record"]["payload"] == PAYLOAD
    assert document["archivedAt"] == "2024-05-29T00:01:40Z"
    assert archive.record_from_document(document) == record  # every field comes back
    head = stack.session.client("s3").head_object(Bucket=stack.resources.archive_bucket, Key=key)
    assert head["ServerSideEncryption"] == "aws:kms"  # the bucket default, the stage key
    lines = [line for line in log_lines(capsys.readouterr().out) if line.get("audit") == "webhook"]
    assert [(line["removedBy"], line["archivedAs"]) for line in lines] == [("ttl", key)]
    assert PAYLOAD not in capsys.readouterr().out


def test_a_removal_by_a_principal_is_alerted_not_archived(client, stack):
    event = {"Records": [removal(webhook().to_item(), "300", ttl=False)]}

    assert client.lambda_.invoke("audit_changes", event).payload == {"batchItemFailures": []}
    assert objects(stack) == {}


def test_a_failed_archive_write_fails_the_record_and_the_retry_archives_it(client, stack):
    """The archive is the only copy left: a write that fails must be retried by the stream, and
    nothing after it in the shard may be handled first."""
    s3 = stack.session.client("s3")
    bucket = stack.resources.archive_bucket
    s3.delete_bucket_encryption(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})
    s3.delete_bucket(Bucket=bucket)  # S3 answers NoSuchBucket: as good as an outage here
    first, second = webhook("wh_" + "1" * 32), webhook("wh_" + "2" * 32)
    event = {"Records": [removal(first.to_item(), "400"), removal(second.to_item(), "401")]}

    assert client.lambda_.invoke("audit_changes", event).payload == {"batchItemFailures": [{"itemIdentifier": "400"}]}

    s3.create_bucket(Bucket=bucket)
    assert client.lambda_.invoke("audit_changes", event).payload == {"batchItemFailures": []}
    assert {key.rsplit("/", 1)[-1] for key in objects(stack)} == {
        f"{first.webhook_id}.json", f"{second.webhook_id}.json", first.webhook_id, second.webhook_id,
    }


def test_the_archive_reads_back_by_id_and_lists_by_source(stack):
    store = archive.WebhookArchive(stack.session.client("s3"), stack.resources.archive_bucket)
    record = webhook()
    key = store.put(record, "2024-05-29T00:00:00Z")

    found = store.get(record.webhook_id)
    assert found is not None and found.record == record and found.key == key
    assert store.get("wh_" + "f" * 32) is None
    assert list(store.keys("stripe-eu")) == [key]
    assert list(store.keys("stripe")) == []  # a prefix of another source's name is not that source


@pytest.mark.parametrize("received_at", ["", "soon", "2024-13"])
def test_a_record_without_a_readable_day_is_archived_undated(received_at):
    record = webhook()
    record.received_at = received_at
    assert archive.record_key(record) == f"webhooks/stripe-eu/undated/{record.webhook_id}.json"


def test_a_document_that_is_not_an_archived_record_is_refused():
    with pytest.raises(archive.ArchiveError):
        archive.record_from_document({"record": {"webhookId": "wh_x"}})
    with pytest.raises(archive.ArchiveError):
        archive.record_from_document([])


def test_a_webhooks_ttl_removal_without_its_old_image_fails_rather_than_passing_unarchived(client, stack):
    event = {"Records": [removal(webhook().to_item(), "600")]}
    del event["Records"][0]["dynamodb"]["OldImage"]

    assert client.lambda_.invoke("audit_changes", event).payload == {"batchItemFailures": [{"itemIdentifier": "600"}]}
    assert objects(stack) == {}
