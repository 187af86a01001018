"""Every log line of an invocation carries its request id, the cold-start flag on a container's first
invocation, and the X-Ray trace id when the trace is sampled."""

from __future__ import annotations

import json
from typing import Any

import pytest
from chalice.local import LambdaContext

from chalicelib import log
from tests import samples
from tests.functional.helpers import log_lines, post, process_queue

TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"
TRACE_ROOT = "1-5759e988-bd862e3fe1be46a994272793"


@pytest.fixture
def fresh_container(monkeypatch: pytest.MonkeyPatch) -> None:
    """As if no function of this process had been invoked yet (a new container)."""
    monkeypatch.setattr(log, "_warm_functions", set())


def test_route_lines_carry_the_request_id_and_cold_start_only_on_the_first_call(
    client, stack, capsys, fresh_container, monkeypatch
):
    # GIVEN a traced invocation (Lambda sets the trace header in the environment)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", TRACE_HEADER)
    capsys.readouterr()

    # WHEN two webhooks are received by the same container
    for _ in range(2):
        body, headers = samples.stripe_delivery(samples.stripe_event())
        assert post(client, "stripe", body, headers).status_code == 200

    # THEN each line names its own invocation, the first one cold (the flag only there), and the
    # trace
    lines = [line for line in log_lines(capsys.readouterr().out) if line["message"] == "webhook received"]
    assert len(lines) == 2, lines
    assert [line.get("coldStart") for line in lines] == [True, None]
    assert all(line["xrayTraceId"] == TRACE_ROOT for line in lines)
    request_ids = [line["requestId"] for line in lines]
    assert all(request_ids) and request_ids[0] != request_ids[1]


def test_event_handlers_log_with_their_own_context_and_no_trace_when_untraced(
    client, stack, capsys, fresh_container, monkeypatch
):
    from app import audit_changes

    # GIVEN an untraced stage, and a stored webhook waiting for the processor
    monkeypatch.delenv("_X_AMZN_TRACE_ID", raising=False)
    body, headers = samples.stripe_delivery(samples.stripe_event())
    assert post(client, "stripe", body, headers).status_code == 200
    capsys.readouterr()

    # WHEN the processor runs (as Lambda invokes it, through the test client)
    process_queue(client, stack)

    # THEN its line carries its request id, cold (the processor's first invocation), no trace id
    [line] = [line for line in log_lines(capsys.readouterr().out) if line["message"] == "webhook processed"]
    assert line["coldStart"] is True and line["requestId"]
    assert "xrayTraceId" not in line

    # WHEN the audit handler is called as Lambda calls it, with a fake context, twice: a removal,
    # then a record it cannot read
    contexts = [LambdaContext("payment-webhooks-local-audit_changes", 256) for _ in range(2)]
    audit_changes({"Records": [stream_removal()]}, contexts[0])
    odd = {**stream_removal(), "eventName": "TRUNCATE"}
    assert audit_changes({"Records": [odd]}, contexts[1])["batchItemFailures"]

    # THEN the audit's change record is identified by the stream (its sequence number), not by the
    # invocation that logged it; the invocation's own line about the failure names the invocation
    lines = log_lines(capsys.readouterr().out)
    [change] = [line for line in lines if line.get("audit")]
    assert change["sequenceNumber"] == "1" and change["change"] == "REMOVE"
    assert not {"requestId", "coldStart", "xrayTraceId"} & set(change), change
    [failure] = [line for line in lines if line["message"] == "record failed"]
    assert failure["requestId"] == contexts[1].aws_request_id and "coldStart" not in failure


def test_lines_outside_an_invocation_have_no_invocation_fields(capsys, fresh_container):
    # GIVEN an invocation that ended; WHEN a line is logged after it
    with log.invocation(LambdaContext("f", 128)):
        log.info("inside")
    log.info("outside")

    # THEN only the line inside it names the invocation
    inside, outside = log_lines(capsys.readouterr().out)
    assert inside["coldStart"] is True and inside["requestId"]
    assert not {"requestId", "coldStart", "xrayTraceId"} & set(outside)


@pytest.mark.parametrize(
    ("header", "root"),
    [(TRACE_HEADER, TRACE_ROOT), ("Sampled=1;Root=1-a-b", "1-a-b"), ("Sampled=0;Root=1-a-b", None),
     ("Root=1-a-b;Parent=c", None), ("Root=1-a-b;Sampled=?", None), ("Sampled=1;Root=", None),
     ("", None), (None, None)],
)
def test_the_trace_id_is_the_header_root_of_a_sampled_trace(header, root):
    assert log.sampled_trace_root(header) == root


def test_an_unsampled_invocation_names_no_trace(capsys, fresh_container, monkeypatch):
    # GIVEN an invocation Lambda did not sample (it sets a trace header on every invocation of a
    # traced function; this one X-Ray never records)
    monkeypatch.setenv("_X_AMZN_TRACE_ID", "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0")
    with log.invocation(LambdaContext("f", 128)):
        log.info("m")
    # THEN its line carries no trace id: none would lead to a trace
    [line] = log_lines(capsys.readouterr().out)
    assert "xrayTraceId" not in line and line["requestId"]


def stream_removal() -> dict:
    """A stream record of a removed webhook record: the audit logs it (and alerts)."""
    image = {"pk": {"S": "wh_1"}, "itemType": {"S": "webhook"}, "status": {"S": "processed"},
             "source": {"S": "stripe"}, "eventType": {"S": "charge.succeeded"}}
    return {"eventID": "1", "eventName": "REMOVE", "eventSource": "aws:dynamodb", "awsRegion": "us-east-1",
            "dynamodb": {"Keys": {"pk": {"S": "wh_1"}}, "OldImage": image, "SequenceNumber": "1",
                         "StreamViewType": "NEW_AND_OLD_IMAGES"},
            "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/x"}


def test_the_json_line_is_one_object_with_the_fields_after_the_invocation_fields(capsys, fresh_container):
    with log.invocation(LambdaContext("f", 128)):
        log.info("m", webhookId="wh_1")
    [raw] = capsys.readouterr().out.splitlines()
    assert list(json.loads(raw)) == ["level", "message", "timestamp", "requestId", "coldStart", "webhookId"]


def test_a_processed_payment_webhook_gets_one_info_line_with_the_payment_facts(client, stack, capsys):
    from botocore.exceptions import ClientError

    from tests.functional.test_payments import (
        deliver_stripe,
        make_visible,
        on_aws_call,
        p,
        receive_one_round,
    )

    # GIVEN a payment webhook whose finish fails once, after its payment was changed and published
    webhook_id = deliver_stripe(client, "payment_intent.succeeded", p.payment_intent("succeeded"))
    capsys.readouterr()

    def fail_the_finish(params: dict[str, Any]) -> None:
        if params.get("UpdateExpression", "").startswith("SET #s = :status"):
            raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "UpdateItem")

    with on_aws_call("dynamodb.UpdateItem", fail_the_finish):
        messages, _ = receive_one_round(client, stack)
    # THEN the failure line is the one that says the payment was changed (no INFO line: not finished)
    lines = [line for line in log_lines(capsys.readouterr().out) if line.get("webhookId") == webhook_id]
    assert [(line["level"], line["message"]) for line in lines] == [("ERROR", "webhook processing failed")]
    assert lines[0]["paymentChanged"] is True

    # WHEN SQS redelivers it and it is finished
    make_visible(stack, messages)
    process_queue(client, stack)

    # THEN one INFO line carries the outcome and what applying the event did (already done: no change)
    lines = [line for line in log_lines(capsys.readouterr().out) if line.get("webhookId") == webhook_id]
    assert [(line["level"], line["message"]) for line in lines] == [("INFO", "webhook processed")], lines
    [line] = lines
    assert {key: line.get(key) for key in ("outcome", "kind", "eventStatus", "paymentStatus", "version",
                                           "paymentChanged", "attempt")} == {
        "outcome": "processed", "kind": "payment", "eventStatus": "succeeded", "paymentStatus": "succeeded",
        "version": 1, "paymentChanged": False, "attempt": 2,
    }
    assert line["paymentKey"] and line["eventId"] and line["eventType"] == "payment_intent.succeeded"


def test_a_first_delivery_is_one_info_line_that_says_the_payment_changed(client, stack, capsys):
    from tests.functional.test_payments import deliver_stripe, p

    webhook_id = deliver_stripe(client, "payment_intent.succeeded", p.payment_intent("succeeded"))
    capsys.readouterr()
    process_queue(client, stack)
    lines = [line for line in log_lines(capsys.readouterr().out) if line.get("webhookId") == webhook_id]
    assert [line["message"] for line in lines] == ["webhook processed"]
    assert (lines[0]["paymentChanged"], lines[0]["version"]) == (True, 1)
