"""Issue #13 (B8): a source's options reach the normalizers; Adyen ``autoCapture`` end to end.

Auto-capture merchant accounts get no ``CAPTURE`` webhook: their successful ``AUTHORISATION`` is the
capture. The option lives in the source's entry of the sources secret, so the processor reads
the sources registry (as the receiver does) and hands the source's options to ``normalize``. A
processor that cannot read that configuration retries the message: booking the payment as only
authorized would be a wrong booking that no later webhook corrects.

The payloads are Adyen's own (``tests/fixtures/providers/adyen/``), re-signed with the test key.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from chalicelib import runtime
from tests import samples
from tests.functional.helpers import fail_aws_call, invoke_processor, post, process_queue, run_outbox, webhook_items

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "providers" / "adyen"
AUTO_SOURCE = "adyen-auto"
DENIED = ClientError({"Error": {"Code": "AccessDeniedException", "Message": "denied"}}, "GetSecretValue")


def real_item(name: str) -> dict[str, Any]:
    """One notification item of the corpus, its recorded signature dropped (re-signed on delivery).

    The SDK fixtures' placeholder ``pspReference`` ("123456789") is refused by the receiver's
    format check (16 upper-case letters and digits), so it is replaced by one of that format.
    """
    entry = json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))
    item: dict[str, Any] = copy.deepcopy(entry["payload"])
    fields = item["NotificationRequestItem"]
    fields.get("additionalData", {}).pop("hmacSignature", None)
    if fields["pspReference"] == "123456789":
        fields["pspReference"] = "JAVA0SDK0FIXTURE"
    return item


def configure(stack: Any, **extra_sources: dict[str, Any]) -> None:
    """The stack's sources plus ``extra_sources``; the next container reads them."""
    document = {"sources": {**samples.SOURCES, **extra_sources}}
    stack.session.client("secretsmanager").put_secret_value(
        SecretId=stack.resources.secret_id, SecretString=json.dumps(document))
    runtime.reset()


def deliver(client: Any, source: str, *items: dict[str, Any]) -> list[str]:
    response = post(client, source, *samples.adyen_delivery(*items))
    assert response.status_code == 200, response.body
    return [webhook_id for webhook_id in response.headers.get("X-Webhook-Ids", "").split(",") if webhook_id]


def payment(source: str, psp: str) -> dict[str, Any]:
    record = runtime.services().payments.get(f"{source}:{psp}")
    assert record is not None, f"no payment {source}:{psp}"
    return record


@pytest.fixture
def auto_source(stack: Any) -> str:
    configure(stack, **{AUTO_SOURCE: {"provider": "adyen", "secrets": [samples.ADYEN_KEY], "autoCapture": True}})
    return AUTO_SOURCE


@pytest.mark.parametrize("name", ["java-authorisation-true-0", "openapi-authorisation-0"])
def test_an_auto_capture_sources_authorisation_is_the_capture(client, stack, auto_source, name):
    # GIVEN Adyen's AUTHORISATION example, sent through a source with autoCapture: true
    item = real_item(name)["NotificationRequestItem"]
    deliver(client, auto_source, {"NotificationRequestItem": item})

    # WHEN it is processed
    process_queue(client, stack)

    # THEN the payment is captured with the authorised amount
    record = payment(auto_source, item["pspReference"])
    value = item["amount"]["value"]
    assert record["status"] == "succeeded"
    assert record["amounts"]["authorized"] == value and record["amounts"]["captured"] == value


def test_the_same_authorisation_through_a_source_without_the_option_stays_authorized(client, stack, auto_source):
    # The control: the option, not the payload, makes the capture (both sources in one secret).
    item = real_item("openapi-authorisation-0")["NotificationRequestItem"]
    deliver(client, "adyen", {"NotificationRequestItem": item})
    process_queue(client, stack)
    record = payment("adyen", item["pspReference"])
    assert record["status"] == "authorized"
    assert (record["amounts"]["authorized"], record["amounts"]["captured"]) == (item["amount"]["value"], 0)


def test_a_refused_authorisation_is_failed_even_with_auto_capture(client, stack, auto_source):
    item = real_item("openapi-authorisation-0")["NotificationRequestItem"]
    item["success"] = "false"
    deliver(client, auto_source, {"NotificationRequestItem": item})
    process_queue(client, stack)
    record = payment(auto_source, item["pspReference"])
    assert record["status"] == "failed" and record["amounts"]["captured"] == 0


def test_a_processor_that_cannot_read_the_sources_retries_and_books_nothing(client, stack, auto_source):
    # GIVEN an auto-capture AUTHORISATION received, and a fresh processor container whose reads
    # of the sources secret are refused (the grant missing, Secrets Manager down)
    item = real_item("openapi-authorisation-0")["NotificationRequestItem"]
    [webhook_id] = deliver(client, auto_source, {"NotificationRequestItem": item})
    run_outbox(client, stack)  # the table's stream queues it
    runtime.reset()
    messages = stack.sqs.receive_message(QueueUrl=stack.resources.queue_url, AttributeNames=["All"])["Messages"]

    # WHEN the processor gets the message
    with fail_aws_call("secretsmanager.GetSecretValue", DENIED):
        result = invoke_processor(client, stack, messages)

    # THEN the message is handed back for retry, the webhook is still received, no payment exists
    assert [failure["itemIdentifier"] for failure in result["batchItemFailures"]] == [messages[0]["MessageId"]]
    [record] = [r for r in webhook_items(stack) if r["pk"]["S"] == webhook_id]
    assert record["status"]["S"] == "received"
    assert record["lastError"]["S"] == "the sources configuration could not be read"
    assert runtime.services().payments.get(f"{auto_source}:{item['pspReference']}") is None

    # AND once the secret is readable again, the retry books the capture
    stack.sqs.change_message_visibility(QueueUrl=stack.resources.queue_url,
                                        ReceiptHandle=messages[0]["ReceiptHandle"], VisibilityTimeout=0)
    process_queue(client, stack)
    assert payment(auto_source, item["pspReference"])["status"] == "succeeded"


def test_a_webhook_whose_source_was_removed_is_retried_not_guessed(client, stack, auto_source):
    # GIVEN an AUTHORISATION received through the auto-capture source, which is then removed
    item = real_item("openapi-authorisation-0")["NotificationRequestItem"]
    [webhook_id] = deliver(client, auto_source, {"NotificationRequestItem": item})
    run_outbox(client, stack)  # the table's stream queues it
    configure(stack)

    # WHEN the processor gets it
    messages = stack.sqs.receive_message(QueueUrl=stack.resources.queue_url, AttributeNames=["All"])["Messages"]
    result = invoke_processor(client, stack, messages)

    # THEN it is retried (and would dead-letter, replayable), never booked without its options
    assert len(result["batchItemFailures"]) == 1
    [record] = [r for r in webhook_items(stack) if r["pk"]["S"] == webhook_id]
    assert record["status"]["S"] == "received"
    assert record["lastError"]["S"] == "the webhook's source is not configured"
    assert runtime.services().payments.get(f"{auto_source}:{item['pspReference']}") is None


def test_ops_rebuild_refolds_an_auto_capture_payment_with_its_sources_options(client, stack, auto_source, capsys,
                                                                               target):
    # `ops payment --rebuild` re-derives a payment as the processor does: with the source's
    # options, or it would "find" an auto-captured payment only authorized (and --write it so).
    from ops.main import main

    item = real_item("openapi-authorisation-0")["NotificationRequestItem"]
    deliver(client, auto_source, {"NotificationRequestItem": item})
    process_queue(client, stack)
    capsys.readouterr()

    code = main(["payment", f"{auto_source}:{item['pspReference']}", "--rebuild", "--json"])

    report = json.loads(capsys.readouterr().out)
    assert code == 0, report
    assert report["differences"] == {}
    assert report["rebuiltStatus"] == report["storedStatus"] == "succeeded"
