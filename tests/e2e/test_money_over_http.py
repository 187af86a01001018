"""Issue #13's money sequences end to end over HTTP, against a local stack started as `make run` starts it.

B1 (a Stripe refund that fails after succeeding), B3 (an Adyen CAPTURE undone by CAPTURE_FAILED), B5
(a PayPal partial capture, then the remainder voided) and B7 (two Adyen captures of one
authorisation, one refunded) are sent as signed deliveries, one at a time as a provider sends them,
to one stack's HTTP endpoint; its real queue and processor book them. Then, as a user would,
``python -m ops payment <source>:<id> --json`` must show the right ``status`` and ``amounts``, and
``python -m ops export --format json`` must list exactly the money movements that were sent.

The payloads are the shapes of the unit sequences (tests/unit/payments/test_state_sequences.py,
built from tests/unit/payments/payloads.py), where every delivery order is folded too; each event
gets its own id, as each of the provider's deliveries has.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from chalicelib.webhooks.record import WebhookStatus
from chalicelib.webhooks.store import WebhookStore
from ops import delivery as deliveries
from ops.records import wait_until_final
from ops.samples import BuiltEvent
from providers_tooling.contract import SigningMaterial
from tests.e2e.stack import StackProcess, boto3_client
from tests.unit.payments import payloads as p

pytestmark = pytest.mark.slow

PROCESSING_SECONDS = 45
# Adyen references are 16 upper-case letters and digits; B3 and B7 are two payments of one source.
B3_PAYMENT, B3_CAPTURE = "E2EB3PAYMENT0001", "E2EB3CAPTURE0001"
B7_PAYMENT, B7_CAPTURES, B7_REFUND = "E2EB7PAYMENT0001", ("E2EB7CAPTURE0001", "E2EB7CAPTURE0002"), "E2EB7REFUND00001"
# Every provider time of these payloads is in February 2024 (the export's window).
SINCE, UNTIL = "2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z"




@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    """One stack for the module (its own: the export must list this module's movements only)."""
    started = StackProcess.start(tmp_path_factory.mktemp("money-stack"))
    yield started
    assert started.interrupt() == 0, started.output[-3000:]


@pytest.fixture(scope="module")
def sender(stack: StackProcess) -> Sender:
    return Sender(stack)


class Sender:
    """Signs a document as its provider would, with the local stage's secrets, and posts it."""

    def __init__(self, stack: StackProcess) -> None:
        self.stack = stack
        state = stack.state()
        secrets = boto3_client(stack, "secretsmanager")
        document = secrets.get_secret_value(SecretId=state["resources"]["secret_id"])["SecretString"]
        self.sources: dict[str, Any] = json.loads(document)["sources"]
        paypal = state["paypal"]
        self.local = {"paypal": {"key_pem": Path(paypal["signingKeyFile"]).read_bytes(), "cert_url": paypal["certUrl"]}}
        self.store = WebhookStore(boto3_client(stack, "dynamodb"), state["resources"]["table_name"])

    def send(self, source: str, event_type: str, document: dict[str, Any], payment_id: str) -> str:
        """Post one delivery, wait until it is processed; its webhook id."""
        provider = str(self.sources[source].get("provider", source))
        built = BuiltEvent(provider=provider, sample="e2e", event_type=event_type, document=document,
                           event_id=str(document.get("id", "")), payment_id=payment_id)
        material = SigningMaterial.from_source(self.sources[source], provider, self.local.get(provider))
        answer = deliveries.post(f"{self.stack.url}/webhook/{source}", deliveries.sign(built, material))
        assert answer.status == 200 and answer.outcome == "accepted", (event_type, answer.status, answer.body)
        [webhook_id] = answer.webhook_ids
        [record] = wait_until_final(self.store, [webhook_id], PROCESSING_SECONDS)
        assert record is not None and record.status == WebhookStatus.PROCESSED, (event_type, record)
        return webhook_id


def export(stack: StackProcess, since: str, until: str) -> list[dict[str, Any]]:
    """``python -m ops export --since SINCE --until UNTIL --format json``, run as a user runs it."""
    rows: list[dict[str, Any]] = json.loads(
        stack.ops("export", "--since", since, "--until", until, "--format", "json").stdout)
    return rows


def payment(stack: StackProcess, key: str) -> dict[str, Any]:
    """``python -m ops payment KEY --json``, run as a user runs it."""
    shown: dict[str, Any] = stack.ops_json("payment", key)
    return shown


# --- the sequences: the unit sequences' shapes, one id per delivery --------------------------------


def stripe_event(event_type: str, obj: dict[str, Any], created: int) -> dict[str, Any]:
    document = p.stripe_event(event_type, obj, created=created)
    document["id"] = f"evt_{uuid.uuid4().hex[:24]}"
    return document


def send_b1(sender: Sender) -> list[str]:
    intent = p.payment_intent("succeeded", amount_received=2000, latest_charge=p.STRIPE_CHARGE)
    later = p.STRIPE_CREATED + 3600
    sequence = [
        ("payment_intent.succeeded", intent, p.STRIPE_CREATED),
        # the charge's running total, which never goes down (API >= 2022-11-15: no refund list)
        ("charge.refunded", p.stripe_charge(amount_refunded=2000), later),
        ("refund.updated", p.stripe_refund(amount=2000), later),
        ("refund.failed", p.stripe_refund(amount=2000, status="failed"), p.STRIPE_CREATED + 7200),
    ]
    return [sender.send("stripe", kind, stripe_event(kind, obj, at), p.STRIPE_PI) for kind, obj, at in sequence]


def adyen_notification(code: str, psp: str, payment: str, value: int, at: str) -> dict[str, Any]:
    original = payment if code != "AUTHORISATION" else None
    item = p.adyen_item(code, psp_reference=psp, value=value, original_reference=original,
                        event_date=f"2024-02-15T{at}+01:00")
    return {"live": "false", "notificationItems": [item]}


def send_adyen(sender: Sender, payment: str, steps: list[tuple[str, str, int, str]]) -> list[str]:
    return [sender.send("adyen", code, adyen_notification(code, psp, payment, value, at), payment)
            for code, psp, value, at in steps]


def send_b3(sender: Sender) -> list[str]:
    return send_adyen(sender, B3_PAYMENT, [
        ("AUTHORISATION", B3_PAYMENT, 1000, "13:00:00"),
        ("CAPTURE", B3_CAPTURE, 1000, "13:05:00"),
        ("CAPTURE_FAILED", B3_CAPTURE, 1000, "13:30:00"),
    ])


def send_b7(sender: Sender) -> list[str]:
    first, second = B7_CAPTURES
    return send_adyen(sender, B7_PAYMENT, [
        ("AUTHORISATION", B7_PAYMENT, 1999, "13:00:00"),
        ("CAPTURE", first, 1000, "13:05:00"),
        ("CAPTURE", second, 999, "13:06:00"),
        ("REFUND", B7_REFUND, 999, "15:00:00"),
    ])


def send_b5(sender: Sender) -> list[str]:
    partial = p.paypal_capture("COMPLETED", value="6.00", authorization_id=p.PAYPAL_AUTHORIZATION)
    partial["final_capture"] = False
    # PayPal's breakdown of this capture's own 6.00 (the shared payload's is for a 10.00 capture)
    partial["seller_receivable_breakdown"] = {
        "gross_amount": {"currency_code": "USD", "value": "6.00"},
        "paypal_fee": {"currency_code": "USD", "value": "0.49"},
        "net_amount": {"currency_code": "USD", "value": "5.51"},
    }
    voided = p.paypal_authorization("VOIDED", value="10.00")
    voided["update_time"] = "2024-02-15T13:00:00Z"
    sequence = [
        ("PAYMENT.AUTHORIZATION.CREATED", "authorization", p.paypal_authorization("CREATED", value="10.00")),
        ("PAYMENT.CAPTURE.COMPLETED", "capture", partial),
        ("PAYMENT.AUTHORIZATION.VOIDED", "authorization", voided),
    ]
    return [
        sender.send("paypal", kind, p.paypal_event(kind, resource_type, resource,
                                                    event_id=f"WH-E2E{uuid.uuid4().hex[:20].upper()}"),
                    p.PAYPAL_ORDER)
        for kind, resource_type, resource in sequence
    ]


@pytest.fixture(scope="module")
def sent(sender: Sender) -> dict[str, list[str]]:
    """Every sequence sent once for the module: name -> its webhook ids, in the order sent."""
    return {"B1": send_b1(sender), "B3": send_b3(sender), "B5": send_b5(sender), "B7": send_b7(sender)}


# --- what `ops payment --json` shows --------------------------------------------------------------


def amounts(authorized: int, captured: int, refunded: int = 0, disputed: int = 0) -> dict[str, int]:
    return {"authorized": authorized, "captured": captured, "refunded": refunded, "disputed": disputed}


def test_b1_a_stripe_refund_that_failed_after_succeeding_leaves_nothing_refunded(stack, sent):
    shown = payment(stack, f"stripe:{p.STRIPE_PI}")
    assert shown["status"] == "succeeded"
    assert shown["currency"] == "USD"
    assert shown["amounts"] == amounts(2000, 2000)


def test_b3_an_adyen_capture_failed_leaves_nothing_captured(stack, sent):
    shown = payment(stack, f"adyen:{B3_PAYMENT}")
    assert shown["status"] == "authorized"
    assert shown["amounts"] == amounts(1000, 0)


def test_b5_a_paypal_void_of_the_remainder_after_a_partial_capture_stays_succeeded(stack, sent):
    shown = payment(stack, f"paypal:{p.PAYPAL_ORDER}")
    assert shown["status"] == "succeeded"
    assert shown["amounts"] == {**amounts(1000, 600), "fee": 49, "net": 551}


def test_b7_two_captures_summed_and_one_refunded_is_partially_refunded(stack, sent):
    shown = payment(stack, f"adyen:{B7_PAYMENT}")
    assert shown["status"] == "partially_refunded"
    assert shown["currency"] == "EUR"
    assert shown["amounts"] == amounts(1999, 1999, refunded=999)


# --- what `ops export` lists ----------------------------------------------------------------------


def test_the_export_lists_exactly_the_money_movements_sent(stack, sent):
    # B1: the capture, the refund and, when the refund failed, its reversal (a journal: the refund
    # an earlier export listed stays listed); B3: the capture and its reversal (CAPTURE_FAILED);
    # B5: the partial capture and PayPal's fee on it; B7: both captures and the refund. No
    # authorisation or void moves money.
    rows = export(stack, SINCE, UNTIL)
    expected = [
        (f"stripe:{p.STRIPE_PI}", "capture", "in", 2000, "USD"),
        (f"stripe:{p.STRIPE_PI}", "refund", "out", 2000, "USD"),
        (f"stripe:{p.STRIPE_PI}", "refund_reversal", "in", 2000, "USD"),
        (f"adyen:{B3_PAYMENT}", "capture", "in", 1000, "EUR"),
        (f"adyen:{B3_PAYMENT}", "capture_reversal", "out", 1000, "EUR"),
        (f"paypal:{p.PAYPAL_ORDER}", "capture", "in", 600, "USD"),
        (f"paypal:{p.PAYPAL_ORDER}", "fee", "out", -49, "USD"),
        (f"adyen:{B7_PAYMENT}", "capture", "in", 1000, "EUR"),
        (f"adyen:{B7_PAYMENT}", "capture", "in", 999, "EUR"),
        (f"adyen:{B7_PAYMENT}", "refund", "out", 999, "EUR"),
    ]
    listed = [(row["payment"], row["movement"], row["direction"], row["amount"], row["currency"]) for row in rows]
    assert sorted(listed) == sorted(expected)
    # each names the webhook that brought it, and the B7 rows their own capture and refund ids
    every_webhook = {webhook_id for ids in sent.values() for webhook_id in ids}
    assert all(row["webhookId"] in every_webhook for row in rows)
    assert {row["reference"] for row in rows if row["payment"] == f"adyen:{B7_PAYMENT}"} == {*B7_CAPTURES, B7_REFUND}


def test_the_export_window_is_the_providers_time(stack, sent):
    # The same stack, a window before any of the sequences' provider times: nothing.
    assert export(stack, "2024-01-01T00:00:00Z", SINCE) == []
