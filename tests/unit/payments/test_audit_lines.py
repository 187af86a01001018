"""One audit line per payment status change (payment records share the webhook table's stream)."""

from __future__ import annotations

from chalicelib.audit import alert_reason, audit_entry
from chalicelib.payments.record import PaymentRecord, alias_item
from tests.unit.payments.events import payment, refund

NOW = "2024-02-15T12:30:00.000Z"


def stream_record(name: str, old: dict | None, new: dict | None, ttl: bool = False) -> dict:
    image = new or old
    assert image is not None, "a stream record carries an old or a new image"
    change: dict = {"ApproximateCreationDateTime": 1_707_998_400.0, "Keys": {"pk": image["pk"]},
                    "SequenceNumber": "42", "StreamViewType": "NEW_AND_OLD_IMAGES"}
    if old is not None:
        change["OldImage"] = old
    if new is not None:
        change["NewImage"] = new
    record = {"eventName": name, "dynamodb": change}
    if ttl:
        record["userIdentity"] = {"type": "Service", "principalId": "dynamodb.amazonaws.com"}
    return record


def applied(record: PaymentRecord | None) -> PaymentRecord:
    """The record an event changed (``apply`` answers None only for a replay, which these are not)."""
    assert record is not None
    return record


paid = applied(PaymentRecord.new("stripe:pi_1", "stripe").apply(payment("paid", "succeeded", 1), NOW))
refunded = applied(paid.apply(refund("r", "refund_succeeded", 2, "re_1", 2000), NOW))
late = applied(paid.apply(payment("late", "pending", 3), NOW))


def test_a_status_change_is_one_payment_line() -> None:
    entry = audit_entry(stream_record("MODIFY", paid.to_item(), refunded.to_item()))
    assert entry is not None
    assert (entry["audit"], entry["paymentKey"], entry["oldStatus"], entry["newStatus"]) == (
        "payment", "stripe:pi_1", "succeeded", "refunded")
    assert entry["refundedAmount"] == "2000" and entry["version"] == "2"
    assert "state" not in entry and "history" not in entry
    assert alert_reason(entry) is None


def test_a_change_that_keeps_the_status_is_not_a_line() -> None:
    assert audit_entry(stream_record("MODIFY", paid.to_item(), late.to_item())) is None


def test_a_new_payment_is_a_line_and_a_removed_one_alerts() -> None:
    created = audit_entry(stream_record("INSERT", None, paid.to_item()))
    assert created is not None and created["newStatus"] == "succeeded"
    removed = audit_entry(stream_record("REMOVE", paid.to_item(), None))
    assert removed is not None and alert_reason(removed) == "A payment record was removed"


def test_a_record_folded_into_its_alias_target_says_where_it_went() -> None:
    entry = audit_entry(stream_record("MODIFY", paid.to_item(), alias_item("stripe:pi_1", "stripe:pi_2", NOW)))
    assert entry is not None and entry["mergedInto"] == "stripe:pi_2" and entry.get("newStatus") is None


def test_alias_items_alone_are_not_audited() -> None:
    assert audit_entry(stream_record("INSERT", None, alias_item("paypal:C", "paypal:O", NOW))) is None
