"""GoCardless through the app (chalice.test.Client on moto): one record per event of a delivery."""

from __future__ import annotations

import json

from ops import samples as catalog
from ops.delivery import SigningMaterial, sign, tamper
from providers_tooling.gocardless.samples import delivery_of
from tests import samples
from tests.functional.helpers import post, process_queue, webhook_items


def two_event_delivery(payment_id: str = "PM0GCFUNCTIONAL"):
    options = catalog.SampleOptions(payment_id=payment_id)
    built = delivery_of(catalog.build("gocardless", "payments.created", options),
                        catalog.build("gocardless", "payments.confirmed", options))
    return built, sign(built, SigningMaterial.from_source(samples.SOURCES["gocardless"], "gocardless"))


def test_a_delivery_of_two_events_makes_two_records_and_names_both(client, stack):
    # GIVEN a signed GoCardless delivery carrying two events of one payment
    built, delivery = two_event_delivery()

    # WHEN it is posted, then processed
    response = post(client, "gocardless", delivery.body, delivery.headers)
    process_queue(client, stack)

    # THEN one 200 names both records (JSON answer, every id in X-Webhook-Ids), each processed
    assert response.status_code == 200, response.body
    ids = response.headers["X-Webhook-Ids"].split(",")
    assert json.loads(response.body) == {"webhookId": ids[0], "status": "accepted"}
    records = webhook_items(stack)
    assert sorted(item["eventId"]["S"] for item in records) == sorted(e["id"] for e in built.document["events"])
    assert sorted(item["eventType"]["S"] for item in records) == ["payments.confirmed", "payments.created"]
    assert {item["status"]["S"] for item in records} == {"processed"}
    assert len(ids) == 2


def test_the_same_delivery_again_is_a_duplicate_of_both(client, stack):
    _, delivery = two_event_delivery("PM0GCDUPLICATE")
    first = post(client, "gocardless", delivery.body, delivery.headers)
    second = post(client, "gocardless", delivery.body, delivery.headers)

    assert json.loads(second.body)["status"] == "duplicate"
    assert second.headers["X-Webhook-Ids"] == first.headers["X-Webhook-Ids"]
    assert len(webhook_items(stack)) == 2


def test_a_tampered_delivery_is_401_and_stores_nothing(client, stack):
    _, delivery = two_event_delivery("PM0GCTAMPERED")
    response = post(client, "gocardless", tamper(delivery).body, delivery.headers)
    assert response.status_code == 401
    assert webhook_items(stack) == [] and stack.drain() == []
