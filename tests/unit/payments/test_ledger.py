"""Money movements of a payment record (what ``ops export`` writes), and the command's front door."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.payments.ledger import movements
from chalicelib.payments.record import PaymentRecord
from ops.main import main
from tests.unit.payments.events import Context, dispute, make, payment

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
