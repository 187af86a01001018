"""Issue #12 item 3: one source's signer cannot change another source's payments.

Two sources of one provider (``stripe`` and ``stripe-eu``, each with its own secret, both in
``tests/samples.SOURCES``) can name the same payment id: a second account, a test-mode endpoint,
two Standard Webhooks senders whose ids collide, or a hostile signer of one of them. Payment
records are keyed ``<source>:<payment id>``, so each source only ever reaches its own.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from chalicelib import runtime
from chalicelib.payments.store import PaymentStore
from chalicelib.providers import get_provider
from tests import samples
from tests.functional.helpers import post, process_queue
from tests.functional.test_payments import published, subscribe
from tests.unit.payments import payloads as p
from tests.unit.payments.schema import assert_valid

PI = p.STRIPE_PI
EU_SECRET = samples.SOURCES["stripe-eu"]["secrets"][0]


def deliver(client: Any, source: str, secret: str, event_type: str, obj: dict[str, Any], created: int) -> str:
    document = p.stripe_event(event_type, obj, created=created)
    document["id"] = f"evt_{uuid.uuid4().hex[:24]}"
    response = post(client, source, *samples.stripe_delivery(document, secret=secret))
    assert response.status_code == 200, response.body
    return str(json.loads(response.body)["webhookId"])


def full_refund(refund_id: str) -> dict[str, Any]:
    return p.stripe_refund(refund_id, 2000, "succeeded")


def test_a_refund_from_stripe_eu_does_not_touch_stripes_payment_with_the_same_id(client, stack):
    # GIVEN stripe's payment PI, succeeded, and a subscriber to the payment events
    inbox = subscribe(stack)
    paid = deliver(client, "stripe", samples.STRIPE_SECRET, "payment_intent.succeeded",
                   p.payment_intent("succeeded", amount=2000, amount_received=2000), p.STRIPE_CREATED)
    process_queue(client, stack)
    before = runtime.services().payments.get(f"stripe:{PI}")
    assert before is not None and before["status"] == "succeeded"

    # WHEN stripe-eu (its own, valid secret) signs a full refund of the same PaymentIntent id
    refunded = deliver(client, "stripe-eu", EU_SECRET, "refund.updated", full_refund("re_eu"), p.STRIPE_CREATED + 60)
    process_queue(client, stack)

    # THEN stripe's payment is exactly as it was
    after = runtime.services().payments.get(f"stripe:{PI}")
    assert after == before
    assert (after["status"], after["refundedAmount"], after["source"]) == ("succeeded", 0, "stripe")
    assert [entry["webhookId"] for entry in after["history"]] == [paid]
    # AND the refund is stripe-eu's own payment record
    eu = runtime.services().payments.get(f"stripe-eu:{PI}")
    assert eu is not None
    assert (eu["source"], eu["provider"], eu["providerPaymentId"]) == ("stripe-eu", "stripe", PI)
    assert (eu["status"], eu["refundedAmount"]) == ("partially_refunded", 2000)  # no amount known to it yet
    assert [entry["webhookId"] for entry in eu["history"]] == [refunded]
    # AND the two published events name their sources' payments
    messages = published(stack, inbox)
    for message in messages:
        assert_valid(message["body"])
    assert sorted((m["body"]["sourcePaymentKey"], m["body"]["paymentKey"], m["attributes"]["source"])
                  for m in messages) == [(f"stripe-eu:{PI}", f"stripe:{PI}", "stripe-eu"),
                                         (f"stripe:{PI}", f"stripe:{PI}", "stripe")]


def test_the_same_refund_from_stripe_itself_does_refund_its_payment(client, stack):
    # The control for the test above: the refund is refused by source, not because it is ignored.
    pi = f"pi_{uuid.uuid4().hex[:24]}"
    deliver(client, "stripe", samples.STRIPE_SECRET, "payment_intent.succeeded",
            p.payment_intent("succeeded", amount=2000, amount_received=2000, id=pi), p.STRIPE_CREATED)
    refund = dict(full_refund("re_own"), payment_intent=pi)
    deliver(client, "stripe", samples.STRIPE_SECRET, "refund.updated", refund, p.STRIPE_CREATED + 60)
    process_queue(client, stack)
    view = runtime.services().payments.get(f"stripe:{pi}")
    assert view is not None and (view["status"], view["refundedAmount"]) == ("refunded", 2000)
    assert runtime.services().payments.get(f"stripe-eu:{pi}") is None


# -- through processing (the store, without the route) --------------------------------------------


def stripe_webhook(source: str, event_type: str, obj: dict[str, Any], name: str) -> Any:
    document = p.stripe_event(event_type, obj)
    return p.record("stripe", event_type, document, event_id=f"evt_{name}",
                    webhook_id=f"wh_{name}_{uuid.uuid4().hex[:8]}", source=source)


def test_processing_keeps_each_sources_payment_apart(stack):
    store = PaymentStore(stack.dynamodb, stack.resources.table_name)
    pi = f"pi_{uuid.uuid4().hex[:24]}"
    normalize = get_provider("stripe").normalize
    paid = normalize(stripe_webhook("stripe", "payment_intent.succeeded",
                                    p.payment_intent("succeeded", amount=2000, amount_received=2000, id=pi), "paid"))
    refund = normalize(stripe_webhook("stripe-eu", "refund.updated",
                                      dict(full_refund("re_x"), payment_intent=pi), "eu"))
    assert paid is not None and refund is not None
    applied_paid = store.apply(paid, now=time.time())
    applied_refund = store.apply(refund, now=time.time())
    assert (applied_paid.record.key, applied_refund.record.key) == (f"stripe:{pi}", f"stripe-eu:{pi}")
    # A fresh container (no cache) reads the same: stripe's payment untouched
    fresh = PaymentStore(stack.dynamodb, stack.resources.table_name)
    own = fresh.record(f"stripe:{pi}")
    assert own is not None and (own.status, own.state.refunded_amount, own.version) == ("succeeded", 0, 1)
    other = fresh.record(f"stripe-eu:{pi}")
    assert other is not None and other.state.refunded_amount == 2000 and other.source == "stripe-eu"


def paypal_webhook(source: str, event_type: str, resource_type: str, resource: dict[str, Any], name: str) -> Any:
    document = p.paypal_event(event_type, resource_type, resource, event_id=f"WH-{name}")
    return p.record("paypal", event_type, document, event_id=f"WH-{name}",
                    webhook_id=f"wh_{name}_{uuid.uuid4().hex[:8]}", source=source)


def test_a_paypal_alias_never_leads_into_another_sources_order(stack):
    # GIVEN source paypal's order, reachable by its capture id (an alias item)
    store = PaymentStore(stack.dynamodb, stack.resources.table_name)
    normalize = get_provider("paypal").normalize
    order_key = f"paypal:{p.PAYPAL_ORDER}"
    for key in (order_key, f"paypal:{p.PAYPAL_CAPTURE}", f"paypal-b:{p.PAYPAL_ORDER}", f"paypal-b:{p.PAYPAL_CAPTURE}"):
        stack.dynamodb.delete_item(TableName=stack.resources.table_name, Key={"pk": {"S": f"payment#{key}"}})
    capture = normalize(paypal_webhook("paypal", "PAYMENT.CAPTURE.COMPLETED", "capture",
                                       p.paypal_capture("COMPLETED"), "cap"))
    assert capture is not None
    store.apply(capture, now=time.time())
    assert PaymentStore(stack.dynamodb, stack.resources.table_name).get(f"paypal:{p.PAYPAL_CAPTURE}") is not None
    # WHEN a second PayPal source's signer refunds that capture id
    refund = normalize(paypal_webhook("paypal-b", "PAYMENT.CAPTURE.REFUNDED", "refund",
                                      p.paypal_refund(value="10.00", total="10.00"), "ref"))
    assert refund is not None
    applied = store.apply(refund, now=time.time())
    # THEN it lands on paypal-b's own payment, and paypal's order is not refunded
    assert applied.record.key.startswith("paypal-b:")
    fresh = PaymentStore(stack.dynamodb, stack.resources.table_name)
    order = fresh.record(order_key)
    assert order is not None and order.state.refunded_amount == 0 and order.status == "succeeded"


# -- records written before payments were keyed by source -----------------------------------------


def test_a_legacy_record_is_its_default_sources_and_no_other_source_reads_it(stack):
    # GIVEN a record written the old way (payment#stripe:<pi>, no "source" attribute)
    store = PaymentStore(stack.dynamodb, stack.resources.table_name)
    normalize = get_provider("stripe").normalize
    pi = f"pi_{uuid.uuid4().hex[:24]}"
    paid = normalize(stripe_webhook("stripe", "payment_intent.succeeded",
                                    p.payment_intent("succeeded", amount=2000, amount_received=2000, id=pi), "old"))
    assert paid is not None
    item = store.apply(paid, now=time.time()).record.to_item()
    del item["source"]
    stack.dynamodb.put_item(TableName=stack.resources.table_name, Item=item)
    legacy = PaymentStore(stack.dynamodb, stack.resources.table_name).get(f"stripe:{pi}")
    assert legacy is not None and legacy["legacyRecord"] is True and legacy["source"] == "stripe"

    # WHEN stripe-eu refunds that id THEN the legacy record is not touched (its writer is unknown)
    refund = normalize(stripe_webhook("stripe-eu", "refund.updated", dict(full_refund("re_l"), payment_intent=pi), "l"))
    assert refund is not None
    assert PaymentStore(stack.dynamodb, stack.resources.table_name).apply(refund, now=time.time()).record.key == (
        f"stripe-eu:{pi}")
    assert PaymentStore(stack.dynamodb, stack.resources.table_name).get(f"stripe:{pi}") == legacy

    # WHEN the default source writes it THEN the same item is updated and stamped with its source
    own = normalize(stripe_webhook("stripe", "refund.updated", dict(full_refund("re_s"), payment_intent=pi), "s"))
    assert own is not None
    PaymentStore(stack.dynamodb, stack.resources.table_name).apply(own, now=time.time())
    stored = stack.dynamodb.get_item(TableName=stack.resources.table_name, Key={"pk": {"S": f"payment#stripe:{pi}"}})
    assert stored["Item"]["source"] == {"S": "stripe"} and stored["Item"]["status"] == {"S": "refunded"}
