"""Razorpay through the app (chalice.test.Client on moto): the header's event id is the dedupe key."""

from __future__ import annotations

import json

from ops import samples as catalog
from ops.delivery import tamper
from tests import samples
from tests.functional.helpers import post, process_queue, webhook_items


def test_a_signed_event_is_stored_processed_and_applied(client, stack):
    built, delivery = samples.signed_sample("razorpay", "payment.captured", catalog.SampleOptions(amount=49900))

    response = post(client, "razorpay", delivery.body, delivery.headers)
    process_queue(client, stack)

    assert response.status_code == 200, response.body
    [record] = webhook_items(stack)
    assert (record["eventId"]["S"], record["eventType"]["S"]) == (built.event_id, "payment.captured")
    assert record["status"]["S"] == "processed"


def test_a_repeated_event_id_is_a_duplicate_even_with_another_body(client, stack):
    # GIVEN an event stored once; WHEN another signed body arrives under the same event id
    options = catalog.SampleOptions(event_id="KMjHCB3XJhDSx7")
    _, first = samples.signed_sample("razorpay", "payment.authorized", options)
    _, again = samples.signed_sample("razorpay", "payment.captured", options)
    accepted = post(client, "razorpay", first.body, first.headers)
    duplicate = post(client, "razorpay", again.body, again.headers)

    # THEN it is the same webhook, answered `duplicate`, stored once (no timestamp is signed:
    # the event id is the replay guard)
    assert json.loads(duplicate.body) == {"webhookId": json.loads(accepted.body)["webhookId"], "status": "duplicate"}
    assert len(webhook_items(stack)) == 1


def test_a_tampered_event_is_401_and_stores_nothing(client, stack):
    _, delivery = samples.signed_sample("razorpay", "refund.processed")
    response = post(client, "razorpay", tamper(delivery).body, delivery.headers)
    assert response.status_code == 401
    assert webhook_items(stack) == [] and stack.drain() == []
