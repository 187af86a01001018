"""POST /webhook/{source} through chalice's test client, against moto."""

from __future__ import annotations

import json
import time

import pytest
from botocore.exceptions import ClientError

from chalicelib import runtime
from chalicelib.providers import stripe
from chalicelib.providers._helpers import digest_without
from chalicelib.timestamps import iso_timestamp
from chalicelib.webhooks.encoding import stored_digest, stored_payload
from tests import samples
from tests.functional.helpers import fail_aws_call, post, process_queue, run_outbox, stream_records, webhook_items

INTERNAL_DETAIL = "internal detail that must never reach a provider"


def test_valid_stripe_event_is_stored_once_and_queued_by_the_table_stream(client, stack):
    # GIVEN a correctly signed Stripe event
    event = samples.stripe_event()
    body, headers = samples.stripe_delivery(event)

    # WHEN it is delivered
    response = post(client, "stripe", body, headers)

    # THEN it is accepted, stored as `received` with everything replay needs, and queued once (by
    # the table stream's outbox, not by the receiver)
    assert response.status_code == 200
    answer = json.loads(response.body)
    assert answer["status"] == "accepted" and answer["webhookId"].startswith("wh_")
    [item] = webhook_items(stack)
    assert item["pk"]["S"] == answer["webhookId"]
    # (Stripe's digest leaves out pending_webhooks, which a genuine retry may state differently)
    assert stored_digest(item) == digest_without(json.loads(body), stripe.VOLATILE_FIELDS)
    assert "B" in item["payloadSha256"]  # 32 raw bytes
    # ...and nothing beside it: Stripe signs a time, which bounds replays to the record's life, so
    # no dedupe marker is kept (Adyen's is: tests/functional/test_hostile_replays.py)
    assert [i["pk"]["S"] for i in stack.items()] == [answer["webhookId"]]
    assert item["status"]["S"] == "received"
    assert item["eventId"]["S"] == event["id"]
    assert item["eventType"]["S"] == "payment_intent.succeeded"
    assert item["source"]["S"] == "stripe" and item["provider"]["S"] == "stripe"
    assert stored_payload(item) == body.decode()  # the raw text, however it is stored (compressed over 1 KB)
    assert int(item["expiresAt"]["N"]) > 0 and item["attempts"]["N"] == "0"
    assert not {"sweepKey", "sweepAt"} & set(item)  # no index entry: the stream queues it
    assert stack.drain() == []  # the receiver sent nothing...
    assert run_outbox(client, stack) == {"batchItemFailures": []}
    messages = stack.drain()  # ...the stream's INSERT did
    assert [json.loads(m["Body"]) for m in messages] == [{"webhookId": answer["webhookId"]}]


def test_a_new_event_is_accepted_while_the_queue_is_down(client, stack):
    # The receiver makes no SQS call for a new event: an SQS outage does not reach the provider.
    body, headers = samples.stripe_delivery(samples.stripe_event())
    error = ClientError({"Error": {"Code": "InternalError", "Message": INTERNAL_DETAIL}}, "SendMessage")
    with fail_aws_call("sqs.SendMessage", error), fail_aws_call("sqs.SendMessageBatch", error):
        response = post(client, "stripe", body, headers)
    assert response.status_code == 200
    process_queue(client, stack)
    [item] = webhook_items(stack)
    assert item["status"]["S"] == "processed" and item["attempts"]["N"] == "1"


def test_duplicate_after_processing_is_stored_once_and_queued_once(client, stack):
    # GIVEN an event that was delivered and processed
    body, headers = samples.stripe_delivery(samples.stripe_event())
    first = json.loads(post(client, "stripe", body, headers).body)
    process_queue(client, stack)

    # WHEN the provider retries it
    retry = post(client, "stripe", body, headers)

    # THEN the answer names the first webhookId, and nothing new is stored or queued
    assert retry.status_code == 200
    assert json.loads(retry.body) == {"webhookId": first["webhookId"], "status": "duplicate"}
    assert len(webhook_items(stack)) == 1
    assert stack.drain() == []


def test_a_young_duplicate_of_a_record_still_received_is_left_to_the_stream(client, stack):
    body, headers = samples.stripe_delivery(samples.stripe_event())
    first = json.loads(post(client, "stripe", body, headers).body)
    retry = json.loads(post(client, "stripe", body, headers).body)
    assert retry == {"webhookId": first["webhookId"], "status": "duplicate"}
    assert stack.drain() == []  # its stream record is on its way: no send from the receiver

    assert process_queue(client, stack) == 1
    [item] = webhook_items(stack)
    assert item["status"]["S"] == "processed" and item["attempts"]["N"] == "1"


def age_records(stack, seconds: int) -> None:
    """Make every webhook record look as if it arrived ``seconds`` ago."""
    earlier = iso_timestamp(time.time() - seconds)
    for item in webhook_items(stack):
        stack.dynamodb.update_item(
            TableName=stack.resources.table_name, Key={"pk": item["pk"]},
            UpdateExpression="SET receivedAt = :at", ExpressionAttributeValues={":at": {"S": earlier}},
        )


def test_an_old_duplicate_of_a_record_still_received_is_queued_again_but_processed_once(client, stack):
    # GIVEN a record still `received` past the resend delay (its stream delivery was given up)
    body, headers = samples.stripe_delivery(samples.stripe_event())
    first = json.loads(post(client, "stripe", body, headers).body)
    stream_records(stack)  # ...its INSERT never reached the outbox
    delay = runtime.services().ingest.resend_after_seconds
    age_records(stack, delay + 1)

    # WHEN the provider retries it
    retry = json.loads(post(client, "stripe", body, headers).body)

    # THEN the receiver sends it again, and it is processed once
    assert retry == {"webhookId": first["webhookId"], "status": "duplicate"}
    assert [json.loads(m["Body"]) for m in stack.drain()] == [{"webhookId": first["webhookId"]}]
    post(client, "stripe", body, headers)
    assert process_queue(client, stack) == 1
    [item] = webhook_items(stack)
    assert item["status"]["S"] == "processed" and item["attempts"]["N"] == "1"


def test_an_old_duplicate_whose_send_fails_is_503_for_a_retry(client, stack):
    body, headers = samples.stripe_delivery(samples.stripe_event())
    post(client, "stripe", body, headers)
    stream_records(stack)
    age_records(stack, runtime.services().ingest.resend_after_seconds + 1)
    error = ClientError({"Error": {"Code": "InternalError", "Message": INTERNAL_DETAIL}}, "SendMessage")
    with fail_aws_call("sqs.SendMessage", error):
        response = post(client, "stripe", body, headers)
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()


def test_two_sources_of_one_provider_are_separate(client, stack):
    event = samples.stripe_event()
    body, headers = samples.stripe_delivery(event, secret="whsec_other_account")
    assert post(client, "stripe-eu", body, headers).status_code == 200
    # The other account's secret does not verify at the first source.
    assert post(client, "stripe", body, headers).status_code == 401


@pytest.mark.parametrize(
    "deliver",
    [
        pytest.param(lambda: samples.square_delivery(), id="square"),
        pytest.param(lambda: samples.standard_delivery(), id="standard"),
    ],
)
def test_other_providers_are_accepted(client, stack, deliver, request):
    source = request.node.callspec.id
    body, headers = deliver()
    response = post(client, source, body, headers)
    assert response.status_code == 200, response.body
    assert json.loads(response.body)["status"] == "accepted"


def test_adyen_delivery_makes_one_record_per_item_and_answers_accepted(client, stack):
    body, headers = samples.adyen_delivery(
        samples.adyen_item("PSP0001000000000"),
        samples.adyen_item("PSP0001000000000", "CAPTURE", original="PSP0001000000000"),
    )
    response = post(client, "adyen", body, headers)

    assert response.status_code == 200
    assert response.body == b"[accepted]"
    assert len(response.headers["X-Webhook-Ids"].split(",")) == 2
    assert sorted(item["eventType"]["S"] for item in webhook_items(stack)) == ["AUTHORISATION", "CAPTURE"]
    run_outbox(client, stack)
    assert len(stack.drain()) == 2


def test_adyen_delivery_with_one_tampered_item_is_rejected_whole(client, stack):
    body, headers = samples.adyen_delivery(
        samples.adyen_item("PSP0002000000000"), samples.adyen_item("PSP0003000000000")
    )
    tampered = body.replace(b'"PSP0003000000000"', b'"PSP0004000000000"')

    response = post(client, "adyen", tampered, headers)

    assert response.status_code == 401
    assert stack.items() == [] and stack.drain() == []


def test_tampered_body_is_401_and_stores_nothing(client, stack):
    body, headers = samples.stripe_delivery(samples.stripe_event())
    response = post(client, "stripe", body.replace(b"2000", b"9000"), headers)

    assert response.status_code == 401
    assert json.loads(response.body)["error"] == "invalid_signature"
    assert stack.items() == [] and stack.drain() == []


def test_expired_signature_is_401(client, stack):
    body, headers = samples.stripe_delivery(samples.stripe_event(), timestamp=1_600_000_000)
    response = post(client, "stripe", body, headers)
    assert response.status_code == 401
    assert json.loads(response.body)["error"] == "signature_expired"
    assert stack.items() == []


def test_missing_signature_header_is_400(client, stack):
    body, _ = samples.stripe_delivery(samples.stripe_event())
    response = post(client, "stripe", body, {"Content-Type": "application/json"})
    assert response.status_code == 400
    assert json.loads(response.body)["error"] == "missing_header"


def test_validly_signed_body_that_is_not_json_is_400(client, stack):
    body = b"this is not json"
    response = post(client, "stripe", body, samples.stripe.signed_headers(body, samples.STRIPE_SECRET, samples.now()))
    assert response.status_code == 400
    assert json.loads(response.body)["error"] == "malformed_payload"
    assert stack.items() == []


@pytest.mark.parametrize("source", ["nope", "UPPER", "a" * 80, "..", "stripe%2F..%2Fx"])
def test_unknown_source_is_404(client, stack, source):
    body, headers = samples.stripe_delivery(samples.stripe_event())
    response = post(client, source, body, headers)
    assert response.status_code == 404
    assert json.loads(response.body) == {
        "error": "unknown_source",
        "message": "No webhook source is configured under this name.",
    }


def test_body_over_the_limit_is_413_before_any_parsing(client, stack):
    body = b"{" + b" " * (256 * 1024) + b"}"
    response = post(client, "stripe", body, {"Content-Type": "application/json"})
    assert response.status_code == 413
    assert json.loads(response.body)["error"] == "payload_too_large"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_unsupported_content_type_is_415(client, stack, content_type):
    body, headers = samples.stripe_delivery(samples.stripe_event())
    headers.pop("Content-Type")
    if content_type:
        headers["Content-Type"] = content_type
    response = post(client, "stripe", body, headers)
    assert response.status_code == 415
    assert json.loads(response.body)["error"] == "unsupported_media_type"


def test_json_with_charset_is_accepted(client, stack):
    body, headers = samples.stripe_delivery(samples.stripe_event())
    headers["Content-Type"] = "application/json; charset=utf-8"
    assert post(client, "stripe", body, headers).status_code == 200


@pytest.mark.parametrize("operation", ["dynamodb.PutItem", "secretsmanager.GetSecretValue"])
def test_dependency_failure_is_503_with_retry_after_and_no_internals(client, stack, operation, capsys):
    # GIVEN an AWS call on the ingest path that fails
    body, headers = samples.stripe_delivery(samples.stripe_event())
    error = ClientError({"Error": {"Code": "InternalError", "Message": INTERNAL_DETAIL}}, operation)
    with fail_aws_call(operation, error):
        # WHEN a valid event arrives
        response = post(client, "stripe", body, headers)

    # THEN the provider is told to retry, and learns nothing about why
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert json.loads(response.body)["error"] == "temporarily_unavailable"
    assert INTERNAL_DETAIL.encode() not in response.body
    assert INTERNAL_DETAIL not in capsys.readouterr().out

    # AND the provider's retry goes through and the event is processed exactly once
    retry = post(client, "stripe", body, headers)
    assert retry.status_code == 200
    process_queue(client, stack)
    [item] = webhook_items(stack)
    assert item["status"]["S"] == "processed" and item["attempts"]["N"] == "1"


def test_unexpected_error_is_a_generic_500(client, stack, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise RuntimeError(INTERNAL_DETAIL)

    monkeypatch.setattr("chalicelib.receiver.receive", broken)
    body, headers = samples.stripe_delivery(samples.stripe_event())
    response = post(client, "stripe", body, headers)
    assert response.status_code == 500
    assert INTERNAL_DETAIL.encode() not in response.body
    assert INTERNAL_DETAIL not in capsys.readouterr().out


def test_logs_one_line_per_outcome_without_secrets_or_signatures(client, stack, capsys):
    body, headers = samples.stripe_delivery(samples.stripe_event())
    post(client, "stripe", body, headers)
    post(client, "stripe", body.replace(b"2000", b"1"), headers)

    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    outcomes = [line["outcome"] for line in lines if "outcome" in line]
    assert outcomes == ["accepted", "rejected"]
    text = json.dumps(lines)
    assert samples.STRIPE_SECRET not in text
    assert headers["Stripe-Signature"].split("v1=")[1] not in text
    assert runtime.services().settings.stage == "local"
