"""GoCardless end to end over real HTTP: a delivery of two events makes two processed records."""

from __future__ import annotations

import json

import pytest

from ops import samples as catalog
from ops.delivery import SigningMaterial, post, sign, tamper
from providers_tooling.gocardless.samples import delivery_of
from tests.e2e.stack import StackProcess, boto3_client
from tests.e2e.test_local_stack import eventually

pytestmark = pytest.mark.slow


def local_source(stack: StackProcess, name: str) -> dict:
    """The local stage's configuration of source ``name``, as the app reads it."""
    secret_id = stack.state()["resources"]["secret_id"]
    document = boto3_client(stack, "secretsmanager").get_secret_value(SecretId=secret_id)["SecretString"]
    return json.loads(document)["sources"][name]


def test_a_signed_delivery_of_two_events_is_stored_and_processed_as_two_records(local_stack: StackProcess) -> None:
    # GIVEN one GoCardless delivery carrying two events of one payment, signed with the local secret
    options = catalog.SampleOptions(payment_id="PM0E2ETWOEVENTS")
    built = delivery_of(catalog.build("gocardless", "payments.submitted", options),
                        catalog.build("gocardless", "payments.confirmed", options))
    delivery = sign(built, SigningMaterial.from_source(local_source(local_stack, "gocardless"), "gocardless"))

    # WHEN it is posted over HTTP
    answer = post(f"{local_stack.url}/webhook/gocardless", delivery)

    # THEN it is accepted with two webhook ids, and both records reach `processed`
    assert answer.status == 200 and answer.outcome == "accepted", answer.body
    assert len(answer.webhook_ids) == 2
    for webhook_id, event in zip(answer.webhook_ids, built.document["events"], strict=True):
        def processed(webhook_id: str = webhook_id) -> bool:  # bound now: ruff B023
            return local_stack.ops_json("show", webhook_id)["status"] == "processed"

        eventually(processed, what=f"{webhook_id} to be processed")
        shown = local_stack.ops_json("show", webhook_id)
        assert (shown["provider"], shown["eventId"]) == ("gocardless", event["id"])
    payment = local_stack.ops_json("payment", "gocardless:PM0E2ETWOEVENTS")
    assert payment["status"] == "succeeded" and payment["amount"] is None  # GoCardless states no amounts


def test_a_tampered_delivery_is_401(local_stack: StackProcess) -> None:
    built = delivery_of(catalog.build("gocardless", "payments.created"), catalog.build("gocardless", "payments.failed"))
    delivery = sign(built, SigningMaterial.from_source(local_source(local_stack, "gocardless"), "gocardless"))

    answer = post(f"{local_stack.url}/webhook/gocardless", tamper(delivery))

    assert answer.status == 401 and answer.outcome == "invalid_signature"
    listed = {record["eventId"] for record in local_stack.ops_json("list", "--limit", "10000")}
    assert not listed & {event["id"] for event in built.document["events"]}
