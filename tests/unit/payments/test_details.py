"""The ledger details on events and records (issue #13): bounded text, references, fees, reasons."""

from __future__ import annotations

from dataclasses import replace

import pytest

from chalicelib.errors import ProcessingError
from chalicelib.payments import details
from chalicelib.payments.model import PaymentEvent
from chalicelib.payments.record import PaymentRecord
from chalicelib.payments.state import fold
from tests.unit.payments.events import payment, refund
from tests.unit.payments.schema import assert_valid


def test_bounded_text_is_one_printable_line_within_its_limit() -> None:
    assert details.bounded_text("  Card\nwas \x00declined ") == "Card was declined"
    assert details.bounded_text("x" * 300) == "x" * 199 + "…"
    assert details.bounded_text("") is None
    assert details.bounded_text(42) is None
    assert details.reason_of("card_declined", "Your card was declined.") == "card_declined: Your card was declined."
    assert details.reason_of(None, "Insufficient balance") == "Insufficient balance"
    assert details.reason_of("AMOUNT_DIFFERS", "AMOUNT_DIFFERS") == "AMOUNT_DIFFERS"
    assert details.reason_of(None, None) is None


def test_references_keep_text_values_bounded_and_sorted() -> None:
    pairs = [("orderId", "o-1"), ("orderId", "o-2"), ("bad name", "x"), ("empty", ""), ("number", 7), ("flag", True)]
    assert details.references_of(pairs) == (("number", "7"), ("orderId", "o-1"))
    many = details.references_of((f"k{n:02d}", "v") for n in range(20))
    assert len(many) == details.MAX_REFERENCES and many[0] == ("k00", "v")
    assert details.references_of([("long", "y" * 500)])[0][1].endswith("…")


@pytest.mark.parametrize("changes", [
    {"fee": 10},  # a fee without its currency
    {"fee": -1, "fee_currency": "USD"},
    {"settlement_amount": 5},  # without its currency
    {"settlement_amount": 5, "settlement_currency": "EUR", "exchange_rate": "1,2"},
    {"references": (("orderId", "a"), ("orderId", "b"))},
    {"references": (("orderId", "a\nb"),)},
    {"reason": "two\nlines"},
    {"reason": "r" * 201},
])
def test_unusable_ledger_details_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ProcessingError):
        replace(payment("p", "succeeded", 1), **changes)  # type: ignore[arg-type]  # PaymentEvent fields


def _priced_capture() -> PaymentEvent:
    return replace(payment("cap", "succeeded", 2, amount=1000, capture_id="ch_1"), fee=84, net=916,
                   fee_currency="USD", settlement_amount=850, settlement_currency="EUR", exchange_rate="0.85",
                   references=(("customId", "order-7"),))


def test_the_json_form_carries_the_details_validates_and_round_trips() -> None:
    event = replace(_priced_capture(), reason="none: fine")
    document = event.to_json()
    assert_valid(document)
    assert (document["fee"], document["net"], document["feeCurrency"]) == (84, 916, "USD")
    assert document["references"] == {"customId": "order-7"}
    assert PaymentEvent.from_json(document) == event


def test_a_record_sums_fees_per_movement_and_keeps_references_and_the_latest_reason() -> None:
    events = [
        payment("auth", "authorized", 1, amount=1000),
        _priced_capture(),
        replace(refund("re-1", "refund_succeeded", 3, "re_1", 500), fee=42, net=458, fee_currency="USD",
                reason="requested_by_customer"),
        replace(refund("re-2", "refund_failed", 4, "re_2", 100), fee=2, net=98, fee_currency="USD",
                reason="expired_or_canceled_card"),
    ]
    record = PaymentRecord.new("stripe:pi_1", "stripe")
    for event in events:
        applied = record.apply(event, "2024-02-15T13:00:00.000Z")
        assert applied is not None
        record = applied
    amounts = record.state.amounts
    # the failed refund's fee is not returned: that refund never happened
    assert (amounts.fee, amounts.net, amounts.fee_currency) == (84 - 42, 916 - 458, "USD")
    snapshot = record.snapshot()
    assert snapshot["amounts"]["fee"] == 42 and snapshot["amounts"]["net"] == 458
    assert snapshot["references"] == {"customId": "order-7"}
    assert snapshot["lastReason"]["reason"] == "expired_or_canceled_card"
    assert_valid({**replace(events[-1], payment=snapshot).to_json()})
    view = record.view()
    assert view["amountsDisplay"]["fee"] == "0.42"
    assert [fee["movement"] for fee in view["fees"]] == ["capture:ch_1", "refund:re_1", "refund:re_2"]
    assert view["fees"][0]["settlementCurrency"] == "EUR"
    assert [entry.get("reason") for entry in record.history][-2:] == ["requested_by_customer",
                                                                      "expired_or_canceled_card"]
    stored = PaymentRecord.from_item(record.to_item())
    assert stored.state == record.state


def test_a_record_without_details_stores_its_state_as_before() -> None:
    state = fold([payment("auth", "authorized", 1), payment("cap", "succeeded", 2, capture_id="ch_1")])
    document = state.to_json()
    assert not {"fees", "references", "lastReason"} & set(document)
    assert "fee" not in state.amounts.to_json()


def test_a_fee_in_another_currency_than_the_payment_is_shown_in_its_own() -> None:
    capture = replace(payment("cap", "succeeded", 2, amount=1000, capture_id="ch_1"), fee=300, net=7000,
                      fee_currency="JPY")
    record = PaymentRecord.new("stripe:pi_1", "stripe").apply(capture, "2024-02-15T13:00:00.000Z")
    assert record is not None
    assert record.view()["amountsDisplay"]["fee"] == "300"
    assert record.snapshot()["feeCurrency"] == "JPY"
