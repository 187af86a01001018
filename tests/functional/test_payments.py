"""The payments domain through the app (chalice's test client, the processor) on moto.

Processing a payment webhook updates one payment record and publishes one PaymentEvent; a replay
publishes the same event again and changes nothing; a crash between the steps is repaired by the
retry without applying twice or losing the publication; two writers at once both land.
"""

from __future__ import annotations

import itertools
import json
import random
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3
from botocore.exceptions import ClientError

from chalicelib import runtime
from chalicelib.payments.model import event_id_for
from chalicelib.payments.store import Applied, PaymentContention, PaymentStore
from chalicelib.providers import get_provider
from providers_tooling import standard
from tests import samples
from tests.functional.helpers import invoke_processor, post, process_queue, run_outbox
from tests.unit.payments import payloads as p
from tests.unit.payments.events import refund
from tests.unit.payments.schema import assert_valid

PI = p.STRIPE_PI
PAYMENT_KEY = f"stripe:{PI}"


# -- helpers ------------------------------------------------------------------------------------


def deliver_stripe(client: Any, event_type: str, obj: dict[str, Any], created: int = p.STRIPE_CREATED,
                   event_id: str | None = None) -> str:
    document = p.stripe_event(event_type, obj, created=created)
    document["id"] = event_id or f"evt_{uuid.uuid4().hex[:24]}"
    response = post(client, "stripe", *samples.stripe_delivery(document))
    assert response.status_code == 200, response.body
    return json.loads(response.body)["webhookId"]


def deliver_standard(client: Any, event_type: str, data: dict[str, Any]) -> str:
    body = json.dumps(p.standard_event(event_type, data)).encode()
    headers = standard.signed_headers(body, samples.STANDARD_SECRET, f"msg_{uuid.uuid4().hex}", int(time.time()))
    response = post(client, "standard", body, headers)
    assert response.status_code == 200, response.body
    return json.loads(response.body)["webhookId"]


def payment_view(key: str = PAYMENT_KEY) -> dict[str, Any] | None:
    return runtime.services().payments.get(key)


def webhook_item(stack: Any, webhook_id: str) -> dict[str, Any]:
    return stack.dynamodb.get_item(TableName=stack.resources.table_name, Key={"pk": {"S": webhook_id}})["Item"]


def subscribe(stack: Any) -> str:
    return stack.subscribe_queue(stack.resources.payment_events_topic_arn, f"payment-events-{uuid.uuid4().hex[:8]}")


def published(stack: Any, queue_url: str) -> list[dict[str, Any]]:
    """What a subscriber received: (body as JSON, message attributes as plain strings)."""
    messages: list[dict[str, Any]] = []
    while True:
        batch = stack.sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10,
                                          MessageAttributeNames=["All"]).get("Messages", [])
        if not batch:
            return messages
        for message in batch:
            stack.sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            attributes = {k: v["StringValue"] for k, v in message.get("MessageAttributes", {}).items()}
            messages.append({"body": json.loads(message["Body"]), "raw": message["Body"], "attributes": attributes})


def requeue(stack: Any, webhook_id: str) -> None:
    stack.sqs.send_message(QueueUrl=stack.resources.queue_url, MessageBody=json.dumps({"webhookId": webhook_id}))


@contextmanager
def on_aws_call(operation: str, action: Any) -> Iterator[None]:
    """Run ``action(params)`` before each ``operation`` of the app's own client (it may raise)."""
    service, name = operation.split(".")
    client = getattr(runtime.services().aws, service)
    event = f"before-parameter-build.{service}.{name}"
    handler_id = f"test-{operation}-{uuid.uuid4().hex}"
    client.meta.events.register(event, lambda params, **_: action(params), unique_id=handler_id)
    try:
        yield
    finally:
        client.meta.events.unregister(event, unique_id=handler_id)


def receive_one_round(client: Any, stack: Any) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    run_outbox(client, stack)  # the table stream queues what was stored
    messages = stack.sqs.receive_message(QueueUrl=stack.resources.queue_url, MaxNumberOfMessages=10,
                                         AttributeNames=["All"]).get("Messages", [])
    return messages, invoke_processor(client, stack, messages)


def make_visible(stack: Any, messages: list[dict[str, Any]]) -> None:
    for message in messages:
        stack.sqs.change_message_visibility(QueueUrl=stack.resources.queue_url,
                                            ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)


# -- one webhook, one payment, one message -------------------------------------------------------


def test_processing_a_payment_webhook_updates_the_payment_and_publishes_exactly_one_event(client, stack):
    # GIVEN a subscriber to the payment-events topic and a verified Stripe payment_intent.succeeded
    inbox = subscribe(stack)
    webhook_id = deliver_stripe(client, "payment_intent.succeeded",
                                p.payment_intent("succeeded", amount=2000, amount_received=2000))

    # WHEN the processor runs
    process_queue(client, stack)

    # THEN the payment record holds the new state
    view = payment_view()
    assert view is not None
    assert (view["status"], view["amount"], view["currency"], view["version"]) == ("succeeded", 2000, "USD", 1)
    assert [entry["webhookId"] for entry in view["history"]] == [webhook_id]
    # AND exactly one message was published, schema-valid, with the filter attributes
    [message] = published(stack, inbox)
    assert_valid(message["body"])
    assert message["body"]["eventId"] == event_id_for(webhook_id)
    assert (message["body"]["paymentKey"], message["body"]["kind"], message["body"]["status"]) == (
        PAYMENT_KEY, "payment", "succeeded")
    assert message["attributes"] == {"source": "stripe", "provider": "stripe", "kind": "payment", "status": "succeeded",
                                     "schemaVersion": "2"}
    # AND it carries the payment as the event left it (schema 2), so consumers need not fold
    assert message["body"]["payment"] == {
        "paymentKey": PAYMENT_KEY, "status": "succeeded", "currency": "USD", "version": 1, "livemode": False,
        "account": None, "amounts": {"authorized": 2000, "captured": 2000, "refunded": 0, "disputed": 0},
    }
    # AND the webhook is processed
    assert webhook_item(stack, webhook_id)["status"]["S"] == "processed"


def test_an_event_outside_the_mapping_is_ignored_and_publishes_nothing(client, stack):
    inbox = subscribe(stack)
    webhook_id = deliver_stripe(client, "customer.created", {"id": "cus_1", "object": "customer"})

    process_queue(client, stack)

    assert webhook_item(stack, webhook_id)["status"]["S"] == "ignored"
    assert published(stack, inbox) == []
    assert [i for i in stack.items() if i["itemType"]["S"] not in ("webhook", "dedupe")] == []


def test_replaying_a_webhook_publishes_the_same_event_again_and_leaves_the_payment_unchanged(client, stack):
    # GIVEN a processed payment webhook and what it published
    inbox = subscribe(stack)
    webhook_id = deliver_stripe(client, "payment_intent.succeeded", p.payment_intent("succeeded"))
    process_queue(client, stack)
    [first] = published(stack, inbox)
    before = payment_view()

    # WHEN an operator replays it (reopen the record, queue it again) and it is processed again
    assert runtime.services().store.reopen(webhook_id)
    requeue(stack, webhook_id)
    process_queue(client, stack)

    # THEN the same event (same id, same bytes) is published again, and the payment is as it was
    [again] = published(stack, inbox)
    assert again["body"]["eventId"] == first["body"]["eventId"] and again["raw"] == first["raw"]
    assert payment_view() == before
    assert webhook_item(stack, webhook_id)["status"]["S"] == "processed"


def test_a_crash_between_apply_and_publish_is_retried_without_applying_twice(client, stack):
    # GIVEN the topic fails once, after the payment was updated
    inbox = subscribe(stack)
    webhook_id = deliver_stripe(client, "payment_intent.succeeded", p.payment_intent("succeeded"))
    failure = ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "PublishBatch")
    with on_aws_call("sns.PublishBatch", lambda params: (_ for _ in ()).throw(failure)):
        messages, result = receive_one_round(client, stack)

    # THEN that round fails the message and leaves the webhook received, the payment applied once
    assert result["batchItemFailures"] == [{"itemIdentifier": messages[0]["MessageId"]}]
    assert webhook_item(stack, webhook_id)["status"]["S"] == "received"
    assert (view := payment_view()) is not None and view["version"] == 1 and published(stack, inbox) == []

    # WHEN SQS redelivers it
    make_visible(stack, messages)
    process_queue(client, stack)

    # THEN it is published once, finished, and the payment was not applied a second time
    [message] = published(stack, inbox)
    assert message["body"]["eventId"] == event_id_for(webhook_id)
    assert webhook_item(stack, webhook_id)["status"]["S"] == "processed"
    view = payment_view()
    assert view is not None
    assert view["version"] == 1 and len(view["history"]) == 1


def test_a_crash_between_publish_and_finish_republishes_the_same_event_id(client, stack):
    # GIVEN marking the webhook processed fails once, after the event was published
    inbox = subscribe(stack)
    webhook_id = deliver_stripe(client, "payment_intent.succeeded", p.payment_intent("succeeded"))

    def fail_the_finish(params: dict[str, Any]) -> None:
        if params.get("UpdateExpression", "").startswith("SET #s = :status"):
            raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"}}, "UpdateItem")

    with on_aws_call("dynamodb.UpdateItem", fail_the_finish):
        messages, result = receive_one_round(client, stack)
    assert len(result["batchItemFailures"]) == 1
    assert webhook_item(stack, webhook_id)["status"]["S"] == "received"

    # WHEN SQS redelivers it
    make_visible(stack, messages)
    process_queue(client, stack)

    # THEN the same event id was published twice (consumers dedupe on it), the payment applied once
    bodies = [m["body"] for m in published(stack, inbox)]
    assert [b["eventId"] for b in bodies] == [event_id_for(webhook_id)] * 2
    assert (view := payment_view()) is not None and view["version"] == 1
    assert webhook_item(stack, webhook_id)["status"]["S"] == "processed"


def test_a_malformed_amount_fails_the_webhook_with_a_safe_reason_and_publishes_nothing(client, stack):
    # GIVEN a Standard Webhooks payment whose amount has more decimals than USD allows
    inbox = subscribe(stack)
    webhook_id = deliver_standard(
        client, "payment.succeeded", {"payment_id": "pay_x", "amount": "10.001", "currency": "USD"}
    )

    # WHEN the poller retries it until SQS dead-letters it
    process_queue(client, stack)

    # THEN it is failed with a reason that names the field, not the value, and nothing was published
    item = webhook_item(stack, webhook_id)
    assert item["status"]["S"] == "failed"
    assert item["lastError"]["S"] == "amount in data.amount is not a whole number of minor units"
    assert "10.001" not in item["lastError"]["S"]
    assert published(stack, inbox) == [] and payment_view("standard:pay_x") is None
    assert len(stack.drain(stack.resources.dlq_url)) == 1


# -- order does not matter -----------------------------------------------------------------------


def test_a_stripe_life_cycle_delivered_out_of_order_ends_in_the_right_state(client, stack):
    # GIVEN a life cycle: created, requires_action, succeeded, a partial refund (told twice, by two
    # different event types), a straggling "processing", all delivered in a scrambled order
    t = p.STRIPE_CREATED
    refund_obj = p.stripe_refund("re_1", 500, "succeeded")
    deliveries = [
        ("charge.refund.updated", refund_obj, t + 300),
        ("payment_intent.processing", p.payment_intent("processing"), t + 400),  # late, after success
        ("payment_intent.succeeded", p.payment_intent("succeeded", amount_received=2000), t + 200),
        ("refund.updated", refund_obj, t + 300),
        ("payment_intent.created", p.payment_intent("requires_payment_method"), t),
        ("payment_intent.requires_action", p.payment_intent("requires_action"), t + 100),
    ]
    inbox = subscribe(stack)
    for event_type, obj, created in deliveries:
        deliver_stripe(client, event_type, obj, created=created)
        process_queue(client, stack)  # one at a time, in this order

    # THEN the payment is partially refunded by 5.00 (the refund counted once), and every webhook
    # published one event
    view = payment_view()
    assert view is not None
    assert (view["status"], view["amount"], view["refundedAmount"]) == ("partially_refunded", 2000, 500)
    assert view["lifecycleStatus"] == "succeeded" and len(view["history"]) == 6
    assert len(published(stack, inbox)) == 6


# -- concurrency ----------------------------------------------------------------------------------


def test_a_conflicting_write_between_read_and_conditional_update_is_not_lost(client, stack):
    # GIVEN a payment webhook, and another processor that writes the same payment just before ours
    other = PaymentStore(stack.dynamodb, stack.resources.table_name)  # its own client: no hooks
    competing = refund("competing", "refund_succeeded", 500, "re_9", 700, payment_id=PI)
    raced: list[Applied] = []

    def race(params: dict[str, Any]) -> None:
        if params["Item"]["pk"]["S"] == f"payment#{PAYMENT_KEY}" and not raced:
            raced.append(other.apply(competing, now=time.time()))

    webhook_id = deliver_stripe(client, "payment_intent.succeeded", p.payment_intent("succeeded"))
    with on_aws_call("dynamodb.PutItem", race):
        process_queue(client, stack)

    # THEN both updates landed: the other processor's refund and our payment
    assert raced and raced[0].changed
    view = payment_view()
    assert view is not None
    assert view["status"] == "partially_refunded" and view["refundedAmount"] == 700 and view["amount"] == 2000
    assert view["version"] == 2
    assert {e["eventId"] for e in view["history"]} == {competing.event_id, event_id_for(webhook_id)}


RECEIVES = 5
"""How often SQS delivers a message before its dead-letter queue (``MAX_RECEIVES``, .chalice/config.json)."""


def test_two_processors_at_once_lose_no_update(stack):
    # GIVEN two processors (own clients, own caches) applying different events to one payment
    given_up: list[str] = []

    def processor(names: list[str]) -> None:
        store = PaymentStore(boto3.session.Session().client("dynamodb"), stack.resources.table_name)
        for name in names:
            event = refund(name, "refund_succeeded", 10, f"re_{name}", 1, payment_id="pi_race")
            # Contention that outlasts the store's own retries leaves the SQS message undeleted, and
            # SQS delivers it again once its visibility timeout has passed (a loaded machine makes
            # that likely): the same here, at most as many times as SQS delivers it, after a pause that stands for
            # the timeout. Redelivered at once, the other thread's run of writes could still be going.
            for _ in range(RECEIVES):
                try:
                    store.apply(event, now=time.time())
                    break
                except PaymentContention:
                    time.sleep(random.uniform(0.05, 0.2))
            else:
                given_up.append(name)  # would be `failed` and alerted, then replayed: not lost

    names = [f"r{i}" for i in range(30)]
    threads = [threading.Thread(target=processor, args=(names[i::2],)) for i in range(2)]

    # WHEN they run at the same time
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN no update was lost: each applied event is one version, and every refund is in the record
    record = runtime.services().payments.record("stripe:pi_race")
    assert record is not None
    assert record.state.refunded_amount == record.version, "an applied refund was overwritten"
    assert given_up == [], "contention outlasted every redelivery"
    assert record.state.refunded_amount == 30 and record.version == 30
    assert set(record.state.refunds) == {f"re_{name}" for name in names}


# -- PayPal: refunds and disputes reach the order through the capture -----------------------------


def paypal_webhook(event_type: str, resource_type: str, resource: dict[str, Any], name: str) -> Any:
    document = p.paypal_event(event_type, resource_type, resource, event_id=f"WH-{name}")
    return p.record("paypal", event_type, document, event_id=f"WH-{name}", webhook_id=f"wh_{name}")


PAYPAL_EVENTS = {
    "auth": ("PAYMENT.AUTHORIZATION.CREATED", "authorization", p.paypal_authorization("CREATED")),
    "capture": (
        "PAYMENT.CAPTURE.COMPLETED", "capture", p.paypal_capture("COMPLETED", authorization_id=p.PAYPAL_AUTHORIZATION)
    ),
    "refund": ("PAYMENT.CAPTURE.REFUNDED", "refund", p.paypal_refund(value="4.00", total="4.00")),
    "dispute": ("CUSTOMER.DISPUTE.CREATED", "dispute", p.paypal_dispute("OPEN")),
}


def apply_paypal(store: PaymentStore, names: tuple[str, ...]) -> None:
    for name in names:
        event = get_provider("paypal").normalize(paypal_webhook(*PAYPAL_EVENTS[name], name=name))
        assert event is not None, name
        store.apply(event, now=time.time())


def test_paypal_refunds_and_disputes_land_on_the_order_in_any_order(stack):
    order_key, capture_key = f"paypal:{p.PAYPAL_ORDER}", f"paypal:{p.PAYPAL_CAPTURE}"
    results = set()
    for order in itertools.permutations(PAYPAL_EVENTS):
        # GIVEN a fresh table (a prefix per permutation keeps them apart) and a fresh container
        store = PaymentStore(stack.dynamodb, stack.resources.table_name)
        stack.dynamodb.delete_item(TableName=stack.resources.table_name, Key={"pk": {"S": f"payment#{order_key}"}})
        for key in (capture_key, f"paypal:{p.PAYPAL_AUTHORIZATION}"):
            stack.dynamodb.delete_item(TableName=stack.resources.table_name, Key={"pk": {"S": f"payment#{key}"}})
        # WHEN the authorization, capture, refund and dispute arrive in this order
        apply_paypal(store, order)
        # THEN everything is on the order's record, and the capture's key leads there
        record = store.record(order_key)
        assert record is not None, order
        results.add((record.status, record.state.amount, record.state.refunded_amount,
                     tuple(sorted(record.state.refunds)), tuple(sorted(record.state.disputes)),
                     len(record.state.applied)))
        view = store.get(capture_key)
        assert view is not None and view["paymentKey"] == order_key and view["requestedKey"] == capture_key
    assert results == {("disputed", 1000, 400, ("1JU08902781691411",), ("PP-D-27803",), 4)}


# -- the budget ---------------------------------------------------------------------------------


@contextmanager
def counting_aws_calls() -> Iterator[list[str]]:
    calls: list[str] = []
    services = runtime.services()
    clients = {"dynamodb": services.aws.dynamodb, "sns": services.aws.sns}
    handlers = []
    for name, aws_client in clients.items():
        handler_id = f"count-{name}-{uuid.uuid4().hex}"
        aws_client.meta.events.register(
            "before-call", lambda model, **_: calls.append(model.name), unique_id=handler_id
        )
        handlers.append((aws_client, handler_id))
    try:
        yield calls
    finally:
        for aws_client, handler_id in handlers:
            aws_client.meta.events.unregister("before-call", unique_id=handler_id)


def test_a_full_batch_of_payment_webhooks_costs_fewer_than_three_aws_calls_each(client, stack):
    # GIVEN ten webhooks of ten new payments, queued
    for number in range(10):
        deliver_standard(client, "payment.succeeded", {"payment_id": f"pay_{number}", "amount": 100, "currency": "USD"})
    runtime.services().payments  # noqa: B018 (wire the container before counting)
    run_outbox(client, stack)  # queued by the table stream before the processor's calls are counted

    # WHEN one processor invocation handles the batch
    with counting_aws_calls() as calls:
        messages, result = receive_one_round(client, stack)

    # THEN: one read of the records and one of the payments for the batch, a payment write and a
    # final update (which counts the attempt) each, and one PublishBatch
    assert len(messages) == 10 and result == {"batchItemFailures": []}
    assert sorted(set(calls)) == ["BatchGetItem", "PublishBatch", "PutItem", "UpdateItem"]
    assert calls.count("BatchGetItem") == 2 and calls.count("PublishBatch") == 1
    assert calls.count("PutItem") == 10 and calls.count("UpdateItem") == 10
    assert len(calls) / len(messages) == 2.3


def test_a_payment_this_container_has_not_seen_still_costs_one_write(client, stack):
    # GIVEN ten payments that exist, and a fresh container that has never seen them
    for number in range(10):
        deliver_standard(client, "payment.succeeded", {"payment_id": f"pay_{number}", "amount": 100, "currency": "USD"})
    receive_one_round(client, stack)
    for number in range(10):
        refund = {
            "object": "refund", "id": f"re_{number}", "payment_id": f"pay_{number}", "amount": 100, "currency": "USD"
        }
        deliver_standard(client, "refund.succeeded", refund)
    runtime.reset()
    runtime.services().payments  # noqa: B018
    run_outbox(client, stack)

    # WHEN it processes their refunds
    with counting_aws_calls() as calls:
        messages, result = receive_one_round(client, stack)

    # THEN the batch's payments are read in one call and each write succeeds the first time
    assert len(messages) == 10 and result == {"batchItemFailures": []}
    assert calls.count("BatchGetItem") == 2 and calls.count("PutItem") == 10
    assert len(calls) / len(messages) == 2.3
