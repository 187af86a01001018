"""The payment record: history, idempotence per event id, its item and the operator's view."""

from __future__ import annotations

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.payments.record import HISTORY_LIMIT, PaymentRecord, alias_item, alias_target, item_key
from ops.output import payment_text
from tests.unit.payments.events import Context, payment, refund

NOW = "2024-02-15T12:30:00.000Z"
PAYPAL: Context = {"source": "paypal", "provider": "paypal"}


def test_applying_records_history_and_bumps_the_version() -> None:
    record = PaymentRecord.new("stripe:pi_1", "stripe").apply(payment("paid", "succeeded", 1), NOW)
    assert record is not None
    assert (record.version, record.status, record.created_at, record.updated_at) == (1, "succeeded", NOW, NOW)
    [entry] = record.history
    assert entry["paymentStatus"] == "succeeded" and entry["changed"] is True and entry["kind"] == "payment"


def test_a_replay_is_not_applied_again() -> None:
    event = payment("paid", "succeeded", 1)
    record = PaymentRecord.new("stripe:pi_1", "stripe").apply(event, NOW)
    assert record is not None and record.apply(event, NOW) is None


def test_a_late_event_that_changes_nothing_is_in_the_history_marked_unchanged() -> None:
    record = PaymentRecord.new("stripe:pi_1", "stripe").apply(payment("paid", "succeeded", 10), NOW)
    assert record is not None
    late = record.apply(payment("processing", "pending", 20), NOW)
    assert late is not None and late.status == "succeeded" and late.version == 2
    assert late.history[-1]["changed"] is False and late.history[-1]["status"] == "pending"


def test_history_is_bounded_to_the_most_recent_entries() -> None:
    record = PaymentRecord.new("stripe:pi_1", "stripe").apply(payment("paid", "succeeded", 1, amount=10**6), NOW)
    for number in range(HISTORY_LIMIT + 5):
        assert record is not None
        record = record.apply(refund(f"r{number}", "refund_succeeded", 10 + number, f"re_{number}", 1), NOW)
    assert record is not None
    assert len(record.history) == HISTORY_LIMIT
    assert record.history[-1]["refundId"] == f"re_{HISTORY_LIMIT + 4}"
    assert record.state.refunded_amount == HISTORY_LIMIT + 5


def test_the_item_round_trips_and_carries_the_derived_fields() -> None:
    record = PaymentRecord.new("stripe:pi_1", "stripe").apply(payment("paid", "succeeded", 1), NOW)
    assert record is not None
    record = record.apply(refund("r1", "refund_succeeded", 2, "re_1", 500), NOW)
    assert record is not None
    item = record.to_item()
    assert item["pk"] == {"S": "payment#stripe:pi_1"} and item["itemType"] == {"S": "payment"}
    assert item["status"] == {"S": "partially_refunded"} and item["refundedAmount"] == {"N": "500"}
    assert item["amount"] == {"N": "2000"} and item["currency"] == {"S": "USD"} and item["version"] == {"N": "2"}
    assert PaymentRecord.from_item(item) == record


def test_absorbing_another_record_joins_facts_and_history_once() -> None:
    order = PaymentRecord.new("paypal:ORDER", "paypal").apply(payment("paid", "succeeded", 1, **PAYPAL), NOW)
    orphan = PaymentRecord.new("paypal:CAPTURE", "paypal").apply(
        refund("r1", "refund_succeeded", 5, "re_1", 2000, **PAYPAL), "2024-02-15T12:00:10.000Z")
    assert order is not None and orphan is not None
    merged = order.absorb(orphan, NOW)
    assert merged is not None and merged.status == "refunded"
    assert [e["eventId"] for e in merged.history] == [orphan.history[0]["eventId"], order.history[0]["eventId"]]
    assert merged.absorb(orphan, NOW) is None  # nothing new the second time


def test_the_view_is_json_able_with_decimal_amounts_for_people() -> None:
    record = PaymentRecord.new("stripe:pi_1", "stripe").apply(payment("paid", "succeeded", 1), NOW)
    assert record is not None
    view = record.view()
    assert view["paymentKey"] == "stripe:pi_1" and view["status"] == "succeeded"
    assert (view["amount"], view["amountDisplay"], view["refundedDisplay"]) == (2000, "20.00", "0.00")
    assert len(view["history"]) == 1 and view["appliedEvents"] == 1


def test_alias_items_point_at_their_record() -> None:
    item = alias_item("paypal:CAPTURE", "paypal:ORDER", NOW)
    assert item["pk"]["S"] == item_key("paypal:CAPTURE") == "payment#paypal:CAPTURE"
    assert alias_target(item) == "paypal:ORDER"
    order = PaymentRecord.new("paypal:ORDER", "paypal").apply(payment("p", "succeeded", 1, **PAYPAL), NOW)
    assert order is not None and alias_target(order.to_item()) is None


def test_the_item_carries_its_source_and_provider_and_a_legacy_item_is_recognised() -> None:
    paid = payment("paid", "succeeded", 1, source="stripe-eu")
    record = PaymentRecord.new("stripe-eu:pi_1", "stripe").apply(paid, NOW)
    assert record is not None
    item = record.to_item()
    assert item["pk"] == {"S": "payment#stripe-eu:pi_1"}
    assert (item["source"], item["provider"], item["providerPaymentId"]) == (
        {"S": "stripe-eu"}, {"S": "stripe"}, {"S": "pi_1"})
    assert PaymentRecord.from_item(item) == record and not record.legacy
    view = record.view()
    assert (view["paymentKey"], view["source"], view["provider"], view["legacyRecord"]) == (
        "stripe-eu:pi_1", "stripe-eu", "stripe", False)
    # GIVEN an item written before records were keyed by source (no "source" attribute)
    written = PaymentRecord.new("stripe:pi_1", "stripe").apply(payment("p", "succeeded", 1), NOW)
    assert written is not None
    old = {k: v for k, v in written.to_item().items() if k != "source"}
    legacy = PaymentRecord.from_item(old)
    assert legacy.legacy and legacy.source == "stripe" and legacy.provider == "stripe"
    # WHEN its default source writes it again THEN the write stamps the source
    again = legacy.apply(payment("q", "succeeded", 2), NOW)
    assert again is not None and not again.legacy and again.to_item()["source"] == {"S": "stripe"}


def test_a_record_refuses_an_event_of_another_source_or_provider() -> None:
    record = PaymentRecord.new("stripe:pi_1", "stripe").apply(payment("paid", "succeeded", 1), NOW)
    assert record is not None
    with pytest.raises(ProcessingError, match="another source or provider"):
        record.apply(refund("r1", "refund_succeeded", 5, "re_1", 2000, source="stripe-eu"), NOW)
    with pytest.raises(ProcessingError, match="another source or provider"):
        record.apply(refund("r2", "refund_succeeded", 5, "re_2", 2000, provider="standard"), NOW)


def test_an_alias_never_links_two_sources() -> None:
    with pytest.raises(ValueError, match="one source"):
        alias_item("paypal-b:CAPTURE", "paypal:ORDER", NOW)
    assert alias_item("paypal-b:CAPTURE", "paypal-b:ORDER", NOW)["source"] == {"S": "paypal-b"}


def test_the_view_and_the_item_carry_the_amounts_by_kind_and_the_context() -> None:
    # GIVEN an Adyen-like payment: authorised 19.99, captured in two parts, a part refunded (B7)
    adyen: Context = {"source": "adyen", "provider": "adyen", "currency": "EUR", "payment_id": "PSP"}
    record = PaymentRecord.new("adyen:PSP", "adyen")
    for event in (
        payment("auth", "authorized", 1, amount=1999, **adyen),
        payment("c1", "succeeded", 2, amount=1000, capture_id="C1", **adyen),
        payment("c2", "succeeded", 3, amount=999, capture_id="C2", **adyen),
        refund("r1", "refund_succeeded", 4, "R1", 999, **adyen),
    ):
        record = record.apply(event, NOW)  # type: ignore[assignment]  # each event is new here: never None
    view = record.view()
    assert (view["status"], view["currency"]) == ("partially_refunded", "EUR")
    assert view["amounts"] == {"authorized": 1999, "captured": 1999, "refunded": 999, "disputed": 0}
    assert view["amountsDisplay"]["captured"] == "19.99"
    assert [c["captureId"] for c in view["captures"]] == ["C1", "C2"]
    item = record.to_item()
    assert (item["capturedAmount"], item["authorizedAmount"], item["disputedAmount"]) == (
        {"N": "1999"}, {"N": "1999"}, {"N": "0"})
    assert PaymentRecord.from_item(item) == record
    assert record.snapshot()["amounts"] == view["amounts"] and record.snapshot()["version"] == 4
    text = payment_text(view)
    assert "  amounts  authorized 19.99, captured 19.99, refunded 9.99, disputed 0.00" in text.splitlines()
    assert "  capture  C2 succeeded 999" in text.splitlines()
