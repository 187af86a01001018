"""`ops payment SOURCE:PAYMENT_ID`: payments are named by the source that received them."""

from __future__ import annotations

from pathlib import Path

import pytest

from chalicelib.payments.record import PaymentRecord
from ops.main import main
from ops.output import payment_text
from tests.unit.payments.events import payment, refund


@pytest.fixture(autouse=True)
def no_local_stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAYMENT_WEBHOOKS_LOCAL_DIR", str(tmp_path / "nothing-running"))


def test_the_help_names_the_source(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["payment", "--help"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "SOURCE:PAYMENT_ID" in out and "keyed by the source that received them" in out


@pytest.mark.parametrize("key", ["stripe", "stripe:", ":pi_1", "Stripe EU:pi_1", "stripe/eu:pi_1", "_x:pi_1"])
def test_a_key_that_names_no_source_is_one_line_before_any_lookup(capsys: pytest.CaptureFixture[str], key: str) -> None:
    status = main(["payment", key])
    err = capsys.readouterr().err
    assert status == 1 and "expected SOURCE:PAYMENT_ID" in err and err.strip().count("\n") == 0


def test_a_well_formed_key_of_any_source_goes_to_the_lookup(capsys: pytest.CaptureFixture[str]) -> None:
    # (no stack runs here: the lookup itself is what fails, not the parsing)
    assert main(["payment", "stripe-eu:pi_1"]) == 1
    assert "expected SOURCE:PAYMENT_ID" not in capsys.readouterr().err


def test_the_text_view_names_the_source_and_the_providers_payment() -> None:
    record = PaymentRecord.new("stripe-eu:pi_1", "stripe").apply(payment("p", "succeeded", 1, source="stripe-eu"), "t")
    assert record is not None
    record = record.apply(refund("r", "refund_succeeded", 2, "re_1", 500, source="stripe-eu"), "t")
    assert record is not None
    lines = payment_text(record.view()).splitlines()
    assert lines[0] == "payment stripe-eu:pi_1: partially_refunded"
    assert lines[1] == "  source   stripe-eu (stripe payment pi_1)"
    legacy = PaymentRecord.from_item({k: v for k, v in record.to_item().items() if k != "source"}).view()
    assert "written before payments were keyed by source" in payment_text(legacy)
