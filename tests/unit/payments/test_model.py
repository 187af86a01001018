"""The PaymentEvent model: stable ids, validation, and the committed JSON schema."""

from __future__ import annotations

import dataclasses

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.payments.model import PaymentEvent, event_id_for
from chalicelib.payments.publisher import message_body
from tests.unit.payments import payloads
from tests.unit.payments.schema import assert_valid


def event(**changes: object) -> PaymentEvent:
    fields: dict[str, object] = {
        "provider_payment_id": "pi_1", "kind": "payment", "status": "succeeded",
        "occurred_at": "2024-02-15T12:00:00.000Z", "amount": 2000, "currency": "USD",
    }
    fields.update(changes)
    webhook = payloads.record("stripe", "payment_intent.succeeded", {})
    return PaymentEvent.from_webhook(webhook, **fields)


def test_the_event_id_is_derived_from_the_webhook_id_only() -> None:
    # GIVEN one webhook WHEN its event is built twice (a retry, a replay) THEN the id is the same
    assert event().event_id == event().event_id == event_id_for("wh_test0000000000000000000001")
    assert event_id_for("wh_a") != event_id_for("wh_b")
    assert event().event_id.startswith("pe_") and len(event().event_id) == 29


def test_the_published_form_is_byte_identical_for_the_same_webhook() -> None:
    assert message_body(event()) == message_body(event())


def test_the_json_form_validates_against_the_schema_and_round_trips() -> None:
    original = event(related_payment_keys=("stripe:ch_1",))
    document = original.to_json()
    assert_valid(document)
    assert PaymentEvent.from_json(document) == original


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"kind": "chargeback"}, "unknown kind"),
        ({"status": "refund_succeeded"}, "does not fit its kind"),
        ({"amount": -1}, "not a non-negative integer"),
        ({"amount": True}, "not a non-negative integer"),
        ({"currency": None}, "amount without a currency"),
        ({"currency": "XXZ"}, "unsupported currency"),
        ({"provider_payment_id": ""}, "no usable payment id"),
        ({"provider_payment_id": "pi 1"}, "unexpected characters"),
        ({"kind": "refund", "status": "refund_succeeded", "refund_id": "re_1"}, "without a refund amount"),
    ],
)
def test_an_event_that_makes_no_sense_is_a_processing_error(changes: dict[str, object], reason: str) -> None:
    with pytest.raises(ProcessingError, match=reason):
        event(**changes)


def test_keyed_as_moves_the_event_to_its_record_and_remembers_the_named_key() -> None:
    # GIVEN a refund that named a PayPal capture, received by a second PayPal source
    refund = dataclasses.replace(event(), source="paypal-b", provider="paypal", provider_payment_id="CAPTURE1")
    # WHEN resolved to its order's record (of the same source)
    moved = refund.keyed_as("paypal-b:ORDER1")
    # THEN it carries the order's key and keeps the capture's (provider-scoped, as v1 publishes it)
    assert moved.payment_key == "paypal-b:ORDER1" and moved.provider_payment_key == "paypal:ORDER1"
    assert moved.related_payment_keys == ("paypal:CAPTURE1",)
    assert moved.related_record_keys == ("paypal-b:CAPTURE1",)
    assert moved.event_id == refund.event_id
    assert refund.keyed_as(refund.payment_key) is refund


def test_an_event_is_never_resolved_to_another_sources_record() -> None:
    refund = dataclasses.replace(event(), source="paypal-b", provider="paypal", provider_payment_id="CAPTURE1")
    with pytest.raises(ProcessingError, match="another source"):
        refund.keyed_as("paypal:ORDER1")


def test_the_record_key_is_the_source_and_the_published_payment_key_stays_the_providers() -> None:
    # GIVEN the same PaymentIntent id received by the default source and by a second Stripe source
    default = event()
    second = PaymentEvent.from_webhook(payloads.record("stripe", "payment_intent.succeeded", {}, source="stripe-eu"),
                                       **{f: getattr(default, f) for f in ("provider_payment_id", "kind", "status",
                                                                           "occurred_at", "amount", "currency")})
    # THEN they are two payments, and v1's paymentKey (provider-scoped) is unchanged for both
    assert (default.payment_key, second.payment_key) == ("stripe:pi_1", "stripe-eu:pi_1")
    published = second.to_json()
    assert (published["source"], published["paymentKey"], published["sourcePaymentKey"]) == (
        "stripe-eu", "stripe:pi_1", "stripe-eu:pi_1")
    assert_valid(published)
    assert default.to_json()["sourcePaymentKey"] == default.to_json()["paymentKey"] == "stripe:pi_1"


def test_a_schema_1_document_without_the_source_payment_key_is_still_valid() -> None:
    # Events published before sourcePaymentKey was added (the field is optional: schema "1" stays)
    document = event().to_json()
    del document["sourcePaymentKey"]
    assert_valid(document)
    assert PaymentEvent.from_json(document) == event()


def test_a_related_key_of_another_provider_is_refused() -> None:
    with pytest.raises(ProcessingError, match="another provider"):
        event(related_payment_keys=("paypal:CAPTURE1",))


def test_event_ids_did_not_change_with_schema_version_2() -> None:
    # A webhook published as v1 and replayed after the upgrade must keep its eventId (consumers dedupe on it).
    from chalicelib.payments.model import SCHEMA_VERSION, event_id_for

    assert SCHEMA_VERSION == "2"
    assert event_id_for("wh_x") == "pe_3b4p3qxg4k6qftjuyw676scl67"  # the v1 id of this webhook
