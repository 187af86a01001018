"""Razorpay end to end over real HTTP, driven with `python -m ops send` as a developer would."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.stack import StackProcess

pytestmark = pytest.mark.slow


def test_a_signed_event_is_accepted_stored_and_processed(local_stack: StackProcess) -> None:
    sent = local_stack.ops_json("send", "razorpay", "payment.captured")

    [response] = sent["responses"]
    assert response["httpStatus"] == 200 and response["outcome"] == "accepted"
    [webhook_id] = response["webhookIds"]
    shown = local_stack.ops_json("show", webhook_id)
    assert (shown["status"], shown["provider"], shown["eventId"]) == ("processed", "razorpay", sent["eventId"])


def test_a_tampered_event_is_401(local_stack: StackProcess) -> None:
    sent = local_stack.ops_json("send", "razorpay", "refund.processed", "--tamper")

    [response] = sent["responses"]
    assert response["httpStatus"] == 401 and response["outcome"] == "invalid_signature"


def test_a_repeated_event_id_is_a_duplicate(local_stack: StackProcess) -> None:
    # GIVEN an event sent once; WHEN another event is sent under the same x-razorpay-event-id
    event_id = uuid.uuid4().hex[:14]
    first = local_stack.ops_json("send", "razorpay", "payment.authorized", "--event-id", event_id)
    again = local_stack.ops_json("send", "razorpay", "payment.failed", "--event-id", event_id, expect=None)

    # THEN the second is answered `duplicate` with the first one's webhook id
    [accepted], [duplicate] = first["responses"], again["responses"]
    assert accepted["outcome"] == "accepted" and duplicate["outcome"] == "duplicate"
    assert duplicate["webhookIds"] == accepted["webhookIds"]
