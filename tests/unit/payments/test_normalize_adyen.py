"""Adyen notification items to PaymentEvents: every mapped event code, success true and false."""

from __future__ import annotations

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.providers import get_provider
from tests.unit.payments import payloads as p
from tests.unit.payments.schema import assert_valid

adyen = get_provider("adyen")
PAYMENT_KEY = f"adyen:{p.ADYEN_PAYMENT}"
MODIFICATION = "ZC4R4RBFJGXXGN82"


def normalize(item: dict):
    event = adyen.normalize(p.adyen_record(item))
    if event is not None:
        assert_valid(event.to_json())
    return event


@pytest.mark.parametrize(("success", "status"), [("true", "authorized"), ("false", "failed")])
def test_authorisation_is_keyed_by_its_own_psp_reference(success: str, status: str) -> None:
    event = normalize(p.adyen_item("AUTHORISATION", success=success))
    assert (event.kind, event.status, event.payment_key) == ("payment", status, PAYMENT_KEY)
    assert event.occurred_at == "2024-02-15T12:00:00.000Z"  # eventDate, in UTC
    assert event.currency == "EUR" and event.amount == (1000 if success == "true" else None)


@pytest.mark.parametrize(
    ("code", "success", "kind", "status"),
    [
        ("CAPTURE", "true", "payment", "succeeded"),
        ("CAPTURE", "false", "payment", "failed"),
        ("CAPTURE_FAILED", "true", "payment", "failed"),
        ("CANCELLATION", "true", "payment", "canceled"),
        ("CANCELLATION", "false", "payment", "authorized"),
        ("REFUND", "true", "refund", "refund_succeeded"),
        ("REFUND", "false", "refund", "refund_failed"),
        ("CANCEL_OR_REFUND", "true", "refund", "refund_succeeded"),
        ("REFUND_FAILED", "true", "refund", "refund_failed"),
        ("REFUNDED_REVERSED", "true", "refund", "refund_failed"),
        ("NOTIFICATION_OF_CHARGEBACK", "true", "dispute", "dispute_open"),
        ("CHARGEBACK", "true", "dispute", "dispute_lost"),
        ("CHARGEBACK_REVERSED", "true", "dispute", "dispute_won"),
        ("SECOND_CHARGEBACK", "true", "dispute", "dispute_lost"),
        ("PREARBITRATION_WON", "true", "dispute", "dispute_won"),
        ("PREARBITRATION_LOST", "true", "dispute", "dispute_lost"),
    ],
)
def test_modifications_and_disputes_attach_by_original_reference(
    code: str, success: str, kind: str, status: str
) -> None:
    event = normalize(p.adyen_item(code, MODIFICATION, success, original_reference=p.ADYEN_PAYMENT))
    assert (event.kind, event.status, event.payment_key) == (kind, status, PAYMENT_KEY)
    if kind == "refund":
        assert (event.refund_id, event.refund_amount) == (MODIFICATION, 1000)
    if kind == "dispute":
        assert event.dispute_id == MODIFICATION


def test_a_capture_states_the_captured_amount() -> None:
    event = normalize(p.adyen_item("CAPTURE", MODIFICATION, original_reference=p.ADYEN_PAYMENT, value=700))
    assert event.amount == 700


@pytest.mark.parametrize(("currency", "adyen_value", "minor"), [("CLP", 150000, 1500), ("IDR", 15000, 1500000),
                                                               ("ISK", 10000, 100), ("JPY", 1500, 1500),
                                                               ("KWD", 1234, 1234)])
def test_adyen_units_are_converted_to_iso_minor_units(currency: str, adyen_value: int, minor: int) -> None:
    event = normalize(p.adyen_item("AUTHORISATION", value=adyen_value, currency=currency))
    assert (event.amount, event.currency) == (minor, currency)


def test_a_modification_without_its_original_reference_fails() -> None:
    with pytest.raises(ProcessingError, match="originalReference"):
        normalize(p.adyen_item("CAPTURE", MODIFICATION))


@pytest.mark.parametrize("success", ["TRUE", "yes", "", None])
def test_success_must_be_the_string_true_or_false(success: object) -> None:
    item = p.adyen_item("AUTHORISATION")
    item["NotificationRequestItem"]["success"] = success
    with pytest.raises(ProcessingError, match="success"):
        normalize(item)


def test_a_malformed_amount_fails() -> None:
    item = p.adyen_item("AUTHORISATION")
    item["NotificationRequestItem"]["amount"]["value"] = "10.00"
    with pytest.raises(ProcessingError, match="malformed amount in amount.value"):
        normalize(item)


@pytest.mark.parametrize("code", ["REPORT_AVAILABLE", "REQUEST_FOR_INFORMATION", "PENDING", "AUTORESCUE"])
def test_codes_outside_the_mapping_are_ignored(code: str) -> None:
    assert normalize(p.adyen_item(code)) is None
