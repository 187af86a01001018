"""A conflicting duplicate end to end over HTTP (issue 12, item 9), driven with `python -m ops`."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.stack import StackProcess

pytestmark = pytest.mark.slow


def test_a_conflicting_duplicate_is_answered_duplicate_counted_and_alerted(local_stack: StackProcess) -> None:
    # GIVEN a Stripe event accepted over HTTP
    event_id = f"evt_conflict_{uuid.uuid4().hex[:12]}"
    first = local_stack.ops_json("send", "stripe", "payment_intent.succeeded", "--event-id", event_id)
    [accepted] = first["responses"]
    assert (accepted["httpStatus"], accepted["outcome"]) == (200, "accepted")
    [webhook_id] = accepted["webhookIds"]

    # WHEN another body, validly signed, arrives under the same event id
    again = local_stack.ops_json("send", "stripe", "charge.refunded", "--event-id", event_id, expect=None)

    # THEN it is answered duplicate with the first delivery's id...
    [duplicate] = again["responses"]
    assert (duplicate["httpStatus"], duplicate["outcome"]) == (200, "duplicate")
    assert duplicate["webhookIds"] == [webhook_id]
    # ...`ops show --json` counts it on the record, which kept the first body...
    shown = local_stack.ops_json("show", webhook_id)
    assert shown["conflictingDeliveries"] == 1
    assert shown["eventType"] == "payment_intent.succeeded"
    # ...and the receiver logged the alert line the metric filter counts (the local stack prints
    # its JSON fields as key=value)
    [line] = [line for line in local_stack.output.splitlines() if "alert=conflicting_delivery" in line]
    assert "WARNING" in line or "delivery alert" in line
    assert f"webhookId={webhook_id}" in line
