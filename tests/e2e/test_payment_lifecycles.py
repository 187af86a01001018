"""A payment's life cycle sent out of order over HTTP ends in the same state as in order."""

from __future__ import annotations

import pytest

from ops import samples
from tests.e2e.stack import StackProcess

pytestmark = pytest.mark.slow


def comparable(view: dict) -> dict:
    """What must not depend on the delivery order (ids and timestamps of records aside)."""
    return {
        "status": view["status"],
        "amount": view["amount"],
        "currency": view["currency"],
        "refundedAmount": view["refundedAmount"],
        "lifecycleStatus": view["lifecycleStatus"],
        "refunds": sorted((r["status"], r["amount"]) for r in view["refunds"]),
        "disputes": sorted(d["status"] for d in view["disputes"]),
    }


def test_a_stripe_life_cycle_out_of_order_ends_in_the_right_state(local_stack: StackProcess):
    # GIVEN one Stripe payment's life delivered in order, and another's delivered shuffled
    in_order = local_stack.ops_json("lifecycle", "stripe", "--order", "in-order")
    shuffled = local_stack.ops_json("lifecycle", "stripe", "--order", "shuffled", "--seed", "3")
    assert [s["sample"] for s in shuffled["sent"]] != [s["sample"] for s in in_order["sent"]]

    # WHEN the operator looks at the shuffled one
    shown = local_stack.ops_json("payment", shuffled["paymentKey"])

    # THEN it is in the same state as the in-order one: refunded in full, dispute closed
    assert comparable(shown) == comparable(in_order["payment"])
    assert shown["status"] == "refunded"
    assert shown["refundedAmount"] == shown["amount"] == 2000
    assert len(shown["history"]) == len(in_order["sent"])


# Every provider that offers a life cycle (Stripe, shuffled, above).
@pytest.mark.parametrize("source", [name for name in samples.LIFECYCLES if name != "stripe"])
def test_every_providers_life_cycle_reversed_ends_like_in_order(local_stack: StackProcess, source: str):
    in_order = local_stack.ops_json("lifecycle", source, "--order", "in-order")
    reversed_ = local_stack.ops_json("lifecycle", source, "--order", "reversed")
    assert comparable(reversed_["payment"]) == comparable(in_order["payment"])


def test_unknown_payment_is_one_clear_line(local_stack: StackProcess):
    completed = local_stack.ops("payment", "stripe:pi_doesnotexist", expect=None)
    assert completed.returncode != 0
    assert completed.stderr.strip().count("\n") == 0 and "no payment stripe:pi_doesnotexist" in completed.stderr
