"""Money movements of a payment record (what ``ops export`` writes), and the command's front door."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from chalicelib.payments.ledger import movements
from chalicelib.payments.model import PaymentEvent
from chalicelib.payments.record import PaymentRecord
from ops.main import main
from tests.unit.payments.events import Context, at, dispute, make, payment, refund

NOW = "2024-02-15T12:30:00.000Z"
PAYPAL: Context = {"source": "paypal", "provider": "paypal", "payment_id": "ORDER"}


def record_of(*events: object) -> PaymentRecord:
    record = PaymentRecord.new("paypal:ORDER", "paypal")
    for event in events:
        record = record.apply(event, NOW) or record  # type: ignore[arg-type]  # apply returns None for a replay
    return record


def test_a_lost_dispute_and_its_reversal_are_one_debit() -> None:
    record = record_of(
        payment("cap", "succeeded", 1, amount=1000, capture_id="CAP", **PAYPAL),
        dispute("open", "dispute_open", 2, "PP-D-1", dispute_amount=1000, **PAYPAL),
        dispute("lost", "dispute_lost", 3, "PP-D-1", dispute_amount=1000, **PAYPAL),
        make("rev", "refund", "refund_succeeded", 4, refund_id="RV", refund_amount=1000, reversal=True, **PAYPAL),
    )
    assert [(m.movement, m.amount, m.reference) for m in movements(record)] == [
        ("capture", 1000, "CAP"), ("dispute_debit", 1000, "PP-D-1")]


def test_a_won_chargeback_is_debited_and_credited_back_and_an_inquiry_moves_nothing() -> None:
    record = record_of(
        payment("cap", "succeeded", 1, amount=1000, capture_id="CAP", **PAYPAL),
        dispute("inq", "dispute_won", 2, "dp_inquiry", dispute_inquiry=True, **PAYPAL),
        dispute("won", "dispute_won", 3, "dp_1", dispute_amount=400, **PAYPAL),
    )
    assert [(m.movement, m.direction, m.amount) for m in movements(record)] == [
        ("capture", "in", 1000), ("dispute_debit", "out", 400), ("dispute_credit", "in", 400)]


def test_export_refuses_a_window_that_ends_before_it_starts(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYMENT_WEBHOOKS_LOCAL_DIR", str(tmp_path / "nothing-running"))
    assert main(["export", "--since", "2024-05-02", "--until", "2024-05-01"]) == 1
    assert "--since is after --until" in capsys.readouterr().err
    assert main(["export", "--help"]) == 0
    assert "money movement" in capsys.readouterr().out


def test_each_priced_movement_that_happened_has_a_fee_row_signed_as_it_changes_the_net() -> None:
    from dataclasses import replace

    record = record_of(
        replace(payment("cap", "succeeded", 1, amount=1000, capture_id="CAP", **PAYPAL),
                fee=84, net=916, fee_currency="USD"),
        replace(payment("cap2", "succeeded", 2, amount=500, capture_id="CAP2", **PAYPAL),
                fee=0, net=500, fee_currency="USD"),
        replace(make("re", "refund", "refund_succeeded", 3, refund_id="RE", refund_amount=99, **PAYPAL),
                fee=2, net=97, fee_currency="USD"),
        replace(make("re2", "refund", "refund_failed", 4, refund_id="RE2", refund_amount=50, **PAYPAL),
                fee=1, net=49, fee_currency="USD"),  # failed: its fee was never given back
    )
    rows = [(m.movement, m.direction, m.amount, m.reference, m.currency, m.webhook_id) for m in movements(record)]
    assert rows == [
        ("capture", "in", 1000, "CAP", "USD", "wh_cap"),
        ("fee", "out", -84, "CAP", "USD", "wh_cap"),
        ("capture", "in", 500, "CAP2", "USD", "wh_cap2"),  # a zero fee moves nothing: no row
        ("refund", "out", 99, "RE", "USD", "wh_re"),
        ("fee", "in", 2, "RE", "USD", "wh_re"),
    ]
    gross = 1000 + 500 - 99
    assert gross + sum(m.amount for m in movements(record) if m.movement == "fee") == gross - 82
    assert record.state.amounts.fee == 82


def test_a_fee_in_the_settlement_currency_is_exported_in_it() -> None:
    from dataclasses import replace

    record = record_of(replace(payment("cap", "succeeded", 1, amount=1000, capture_id="CAP", **PAYPAL),
                               fee=79, net=1711, fee_currency="EUR", settlement_amount=1790,
                               settlement_currency="EUR", exchange_rate="0.895"))
    fee = [m for m in movements(record) if m.movement == "fee"]
    assert [(m.amount, m.currency) for m in fee] == [(-79, "EUR")]


STRIPE: Context = {"source": "stripe", "provider": "stripe", "payment_id": "pi_1"}


def rows_in_every_order(*events: PaymentEvent) -> list[tuple[str, str, str, int, str]]:
    """The movements of ``events`` folded in every order: asserted equal, returned once."""
    seen = set()
    for order in itertools.permutations(events):
        record = PaymentRecord.new(f"{events[0].source}:{events[0].provider_payment_id}", events[0].source)
        for event in order:
            record = record.apply(event, NOW) or record
        seen.add(tuple((m.time, m.movement, m.direction, m.amount, m.reference) for m in movements(record)))
    assert len(seen) == 1, seen
    return list(seen.pop())


def test_a_refund_that_fails_after_succeeding_is_booked_then_reversed_not_erased() -> None:
    # B1's shape (Stripe refund.created succeeded, then refund.failed): last month's export showed
    # the refund; this month's must add its reversal, not pretend the refund never left.
    rows = rows_in_every_order(
        payment("pi", "succeeded", 1, amount=1000, capture_id="ch_1", **STRIPE),
        refund("re_ok", "refund_succeeded", 10, "re_1", 400, **STRIPE),
        refund("re_failed", "refund_failed", 20, "re_1", 400, **STRIPE),
    )
    assert rows == [
        (at(1), "capture", "in", 1000, "ch_1"),
        (at(10), "refund", "out", 400, "re_1"),
        (at(20), "refund_reversal", "in", 400, "re_1"),
    ]


def test_a_capture_undone_later_is_booked_then_reversed() -> None:
    # B3's shape (Adyen CAPTURE, then CAPTURE_FAILED for the same capture): net zero, in two rows.
    adyen: Context = {"source": "adyen", "provider": "adyen", "payment_id": "PSP1"}
    rows = rows_in_every_order(
        payment("auth", "authorized", 1, amount=2000, **adyen),
        payment("cap", "succeeded", 5, amount=2000, capture_id="CAP1", **adyen),
        payment("cap_failed", "failed", 9, amount=2000, capture_id="CAP1", **adyen),
    )
    assert rows == [(at(5), "capture", "in", 2000, "CAP1"), (at(9), "capture_reversal", "out", 2000, "CAP1")]


def test_a_won_chargeback_keeps_its_debit_where_it_was_exported() -> None:
    events = (
        payment("pi", "succeeded", 1, amount=1000, capture_id="ch_1", **STRIPE),
        dispute("opened", "dispute_open", 100, "dp_1", dispute_amount=1000, **STRIPE),
        dispute("won", "dispute_won", 5000, "dp_1", dispute_amount=1000, **STRIPE),
    )
    before_the_ruling = rows_in_every_order(*events[:2])
    after = rows_in_every_order(*events)
    assert after == [
        (at(1), "capture", "in", 1000, "ch_1"),
        (at(100), "dispute_debit", "out", 1000, "dp_1"),
        (at(5000), "dispute_credit", "in", 1000, "dp_1"),
    ]
    # An export that ended before the ruling listed exactly what the later one lists up to then.
    assert [row for row in after if row[0] <= at(100)] == before_the_ruling
