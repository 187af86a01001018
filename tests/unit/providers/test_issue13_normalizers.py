"""Issue #13's normalizer bugs (B2, B4, B6, B8, B9, B11, B12, B14), each on a real payload shape
from the corpus (tests/fixtures/providers/), changed only where the case needs it."""

from __future__ import annotations

import copy
import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from chalicelib.payments.model import EventKind, PaymentEvent, PaymentStatus
from chalicelib.payments.store import PaymentStore
from chalicelib.providers import get_provider
from chalicelib.providers.adyen.normalize import normalize as adyen_normalize
from chalicelib.webhooks.record import WebhookRecord, WebhookStatus

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "providers"


def corpus(provider: str, name: str) -> dict[str, Any]:
    entry: dict[str, Any] = json.loads((CORPUS / provider / f"{name}.json").read_text(encoding="utf-8"))
    return entry


def record(provider: str, event_type: str, payload: dict[str, Any], source: str | None = None,
           webhook_id: str = "wh_issue13000000000000000001") -> WebhookRecord:
    return WebhookRecord(
        webhook_id=webhook_id, source=source or provider, provider=provider, event_id=uuid.uuid4().hex,
        event_type=event_type, payload=json.dumps(payload), received_at="2024-02-15T12:00:05.000Z",
        status=WebhookStatus.RECEIVED, expires_at=2_000_000_000,
    )


def normalize(provider: str, event_type: str, payload: dict[str, Any]) -> PaymentEvent | None:
    return get_provider(provider).normalize(record(provider, event_type, payload))


def adyen_item(name: str, **changes: Any) -> tuple[str, dict[str, Any]]:
    entry = corpus("adyen", name)
    payload = copy.deepcopy(entry["payload"])
    payload["NotificationRequestItem"].update(changes)
    return payload["NotificationRequestItem"]["eventCode"], payload


# --- B2: CANCEL_OR_REFUND that cancelled ---------------------------------------------------------


def test_b2_cancel_or_refund_that_cancelled_an_uncaptured_authorisation_is_a_cancellation() -> None:
    event_type, payload = adyen_item("openapi-cancel-or-refund-0")  # additionalData modification.action=cancel
    event = normalize("adyen", event_type, payload)
    assert event is not None
    assert (event.kind, event.status) == (EventKind.PAYMENT, PaymentStatus.CANCELED)
    assert (event.refund_amount, event.amount) == (None, None)


def test_b2_cancel_or_refund_that_refunded_stays_a_refund() -> None:
    event_type, payload = adyen_item("openapi-cancel-or-refund-0", additionalData={"modification.action": "refund"})
    event = normalize("adyen", event_type, payload)
    assert event is not None
    assert (event.kind, event.status, event.refund_amount) == (EventKind.REFUND, PaymentStatus.REFUND_SUCCEEDED, 1000)


def test_b2_a_failed_cancel_leaves_the_authorisation_without_changing_its_amount() -> None:
    event_type, payload = adyen_item("openapi-cancel-or-refund-0", success="false")
    event = normalize("adyen", event_type, payload)
    assert event is not None
    assert (event.kind, event.status, event.amount) == (EventKind.PAYMENT, PaymentStatus.AUTHORIZED, None)


# --- B4: later dispute events without originalReference -------------------------------------------


@pytest.mark.parametrize("name", ["openapi-chargeback-reversed-0", "openapi-second-chargeback-0",
                                  "openapi-prearbitration-won-0", "openapi-prearbitration-lost-0"])
def test_b4_later_dispute_events_without_original_reference_normalize_to_the_disputes_reference(name: str) -> None:
    event_type, payload = adyen_item(name)
    assert "originalReference" not in payload["NotificationRequestItem"]
    event = normalize("adyen", event_type, payload)
    assert event is not None and event.kind == EventKind.DISPUTE
    assert event.provider_payment_id == event.dispute_id == "QFQTPCQ8HXSKGK82"


def test_b4_dispute_events_with_both_references_declare_the_dispute_as_an_alias_of_the_payment() -> None:
    event_type, payload = adyen_item("openapi-chargeback-0")
    event = normalize("adyen", event_type, payload)
    assert event is not None
    assert event.provider_payment_id == "9913140798220028"
    assert event.related_payment_keys == ("adyen:QFQTPCQ8HXSKGK82",)


@pytest.mark.parametrize("reversal_first", [False, True])
def test_b4_a_won_back_chargeback_lands_on_the_charged_back_payment(stack: Any, reversal_first: bool) -> None:
    store = PaymentStore(stack.dynamodb, stack.resources.table_name)
    payment, dispute = f"99{uuid.uuid4().int % 10**14:014d}", f"D{uuid.uuid4().hex[:15].upper()}"
    source = f"adyen-b4-{uuid.uuid4().hex[:6]}"

    def apply(name: str, **changes: Any) -> str:
        event_type, payload = adyen_item(name, **changes)
        event = adyen_normalize(record("adyen", event_type, payload, source=source,
                                       webhook_id=f"wh_{uuid.uuid4().hex}"))
        assert event is not None
        return store.apply(event, now=time.time()).record.key

    authorised = dict(pspReference=payment, eventDate="2021-01-01T00:00:00+01:00")
    charged_back = dict(pspReference=dispute, originalReference=payment, eventDate="2021-01-05T00:00:00+01:00")
    reversed_ = dict(pspReference=dispute, eventDate="2021-02-01T00:00:00+01:00")
    apply("openapi-authorisation-0", **authorised)
    apply("openapi-capture-0", pspReference=f"C{dispute[1:]}", originalReference=payment,
          eventDate="2021-01-02T00:00:00+01:00")
    if reversal_first:
        apply("openapi-chargeback-reversed-0", **reversed_)
        landed = apply("openapi-chargeback-0", **charged_back)
    else:
        apply("openapi-chargeback-0", **charged_back)
        landed = apply("openapi-chargeback-reversed-0", **reversed_)
    assert landed == f"{source}:{payment}"
    stored = PaymentStore(stack.dynamodb, stack.resources.table_name).record(f"{source}:{payment}")
    assert stored is not None
    assert stored.status != PaymentStatus.DISPUTE_LOST  # won back (the fold decides how it shows a won dispute)
    assert set(stored.state.disputes) == {dispute}


# --- B6: Stripe dispute statuses ------------------------------------------------------------------


def stripe_dispute(status: str) -> dict[str, Any]:
    name = "dj-stripe-dispute-dp-fakefakefakefake01-as-charge-dispute-created"
    payload = copy.deepcopy(corpus("stripe", name)["payload"])
    payload["data"]["object"]["status"] = status
    return payload


@pytest.mark.parametrize(("status", "expected"), [
    ("prevented", PaymentStatus.DISPUTE_WON),
    ("appeal_needs_response", PaymentStatus.DISPUTE_LOST),
    ("appeal_under_review", PaymentStatus.DISPUTE_LOST),
])
def test_b6_current_stripe_dispute_statuses_are_mapped(status: str, expected: str) -> None:
    event = normalize("stripe", "charge.dispute.updated", stripe_dispute(status))
    assert event is not None and event.status == expected


def test_b6_an_unknown_dispute_status_is_ignored_with_a_warning_and_a_metric(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert normalize("stripe", "charge.dispute.updated", stripe_dispute("some_future_status")) is None
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    assert any(line.get("metric") == "UnmappedProviderValue" and line.get("level") == "WARNING" for line in lines)


def test_b6_an_unknown_refund_status_is_ignored_not_dead_lettered() -> None:
    payload = copy.deepcopy(corpus("stripe", "openapi-fixtures3-refund-as-refund-created")["payload"])
    payload["data"]["object"]["status"] = "some_future_status"
    assert normalize("stripe", "refund.updated", payload) is None


# --- B8: Adyen lapsed, rejected and adjusted authorisations; autoCapture ---------------------------


@pytest.mark.parametrize(("name", "status", "payment_id"), [
    ("openapi-expire-0", PaymentStatus.CANCELED, "QFQTPCQ8HXSKGK82"),
    ("openapi-offer-closed-0", PaymentStatus.CANCELED, "QFQTPCQ8HXSKGK82"),
    ("java-offer-closed-0", PaymentStatus.CANCELED, None),
    ("openapi-technical-cancel-0", PaymentStatus.CANCELED, "8313547924770610"),
    ("openapi-manual-review-reject-0", PaymentStatus.FAILED, "9913140798220028"),
])
def test_b8_lapsed_and_rejected_authorisations_end_the_payment(name: str, status: str, payment_id: str | None) -> None:
    event_type, payload = adyen_item(name)
    event = normalize("adyen", event_type, payload)
    assert event is not None and (event.kind, event.status, event.amount) == (EventKind.PAYMENT, status, None)
    if payment_id is not None:
        assert event.provider_payment_id == payment_id


def test_b8_an_authorisation_adjustment_states_the_new_authorised_amount() -> None:
    event_type, payload = adyen_item("openapi-authorisation-adjustment-0", amount={"currency": "EUR", "value": 1250})
    event = normalize("adyen", event_type, payload)
    assert event is not None
    assert (event.status, event.amount) == (PaymentStatus.AUTHORIZED, 1250)
    assert event.provider_payment_id == "9913140798220028"
    event_type, payload = adyen_item("openapi-authorisation-adjustment-0", success="false")
    assert normalize("adyen", event_type, payload) is None  # the earlier authorisation stands


def test_b8_a_voided_pending_refund_never_happens() -> None:
    event_type, payload = adyen_item("openapi-void-pending-refund-0")
    event = normalize("adyen", event_type, payload)
    assert event is not None
    assert (event.kind, event.status) == (EventKind.REFUND, PaymentStatus.REFUND_FAILED)
    assert event.refund_id == "QFQTPCQ8HXSKGK82"


def test_b8_auto_capture_treats_a_successful_authorisation_as_captured() -> None:
    event_type, payload = adyen_item("openapi-authorisation-0")
    webhook = record("adyen", event_type, payload)
    captured = adyen_normalize(webhook, {"autoCapture": True})
    assert captured is not None and (captured.status, captured.amount) == (PaymentStatus.SUCCEEDED, 1000)
    authorised = adyen_normalize(webhook, {})
    assert authorised is not None and authorised.status == PaymentStatus.AUTHORIZED
    refused = adyen_normalize(record("adyen", event_type, adyen_item("openapi-authorisation-0", success="false")[1]),
                              {"autoCapture": True})
    assert refused is not None and refused.status == PaymentStatus.FAILED


# --- B9: Stripe legacy charges --------------------------------------------------------------------


def legacy_charge(**changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(corpus("stripe", "openapi-fixtures3-charge-as-charge-succeeded")["payload"])
    assert payload["data"]["object"]["payment_intent"] is None
    payload["data"]["object"].update(changes)
    return payload


def test_b9_a_legacy_charge_records_its_success_keyed_by_the_charge() -> None:
    event = normalize("stripe", "charge.succeeded", legacy_charge(captured=True, amount_captured=100))
    assert event is not None
    assert (event.kind, event.status, event.amount, event.provider_payment_id) == (
        EventKind.PAYMENT, PaymentStatus.SUCCEEDED, 100, "ch_1PgafuB7WZ01zgkWXYmPNZs8")
    captured = normalize("stripe", "charge.captured", legacy_charge(captured=True, amount_captured=60))
    assert captured is not None and (captured.status, captured.amount) == (PaymentStatus.SUCCEEDED, 60)


def test_b9_an_uncaptured_legacy_charge_is_authorised_and_a_failed_one_failed() -> None:
    event = normalize("stripe", "charge.succeeded", legacy_charge(captured=False))
    assert event is not None and (event.status, event.amount) == (PaymentStatus.AUTHORIZED, 100)
    failed = normalize("stripe", "charge.failed", legacy_charge(status="failed"))
    assert failed is not None and (failed.status, failed.amount) == (PaymentStatus.FAILED, None)


def test_b9_a_charge_of_a_payment_intent_is_left_to_the_intents_events() -> None:
    assert normalize("stripe", "charge.succeeded", legacy_charge(payment_intent="pi_1PgafyB7WZ01zgkWSjxsAJo3")) is None


# --- B11: PayPal PAYMENT.SALE.* -------------------------------------------------------------------


def paypal_sale(event_type: str, **changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(corpus("paypal", "php-sdk-validate-webhook-event-sale-completed")["payload"])
    payload["event_type"] = event_type
    payload["resource"].update(changes)
    return payload


def test_b11_a_completed_sale_is_a_succeeded_payment_keyed_by_the_sale() -> None:
    event = normalize("paypal", "PAYMENT.SALE.COMPLETED", paypal_sale("PAYMENT.SALE.COMPLETED"))
    assert event is not None
    assert (event.status, event.amount, event.currency, event.provider_payment_id) == (
        PaymentStatus.SUCCEEDED, 2000, "USD", "2FY57107YS3937627")
    denied = normalize("paypal", "PAYMENT.SALE.DENIED", paypal_sale("PAYMENT.SALE.DENIED", state="denied"))
    assert denied is not None and (denied.status, denied.amount) == (PaymentStatus.FAILED, None)


def test_b11_a_sale_refund_lands_on_its_sale_whatever_the_sign_of_its_total() -> None:
    # PayPal's v1 refund resource: its own id, the sale it refunds, a (signed) total.
    refund = {"id": "0RL75913TB0843532", "create_time": "2015-06-02T10:00:00Z", "update_time": "2015-06-02T10:00:05Z",
              "state": "completed", "amount": {"total": "-5.00", "currency": "USD"},
              "sale_id": "2FY57107YS3937627", "parent_payment": "PAY-2SV945219E505370PKVWL5DA"}
    payload = paypal_sale("PAYMENT.SALE.REFUNDED")
    payload["resource_type"], payload["resource"] = "refund", refund
    event = normalize("paypal", "PAYMENT.SALE.REFUNDED", payload)
    assert event is not None
    assert (event.kind, event.status, event.refund_amount, event.refund_id, event.provider_payment_id) == (
        EventKind.REFUND, PaymentStatus.REFUND_SUCCEEDED, 500, "0RL75913TB0843532", "2FY57107YS3937627")


# --- B12: zero-value authorisations ---------------------------------------------------------------


def test_b12_zero_value_authorisations_are_not_payments() -> None:
    event_type, payload = adyen_item("openapi-authorisation-0", amount={"currency": "EUR", "value": 0})
    assert normalize("adyen", event_type, payload) is None
    assert normalize("stripe", "charge.succeeded", legacy_charge(captured=False, amount=0)) is None


# --- B14: historical fractional ISK ---------------------------------------------------------------


def test_b14_historical_fractional_isk_is_rounded_not_dead_lettered() -> None:
    # Before 2023 Adyen and Stripe charged ISK with two decimals: 123.45 ISK was sent as 12345.
    event_type, payload = adyen_item("openapi-capture-0", amount={"currency": "ISK", "value": 12345})
    event = normalize("adyen", event_type, payload)
    assert event is not None and (event.amount, event.currency) == (123, "ISK")
    event_type, payload = adyen_item("openapi-capture-0", amount={"currency": "ISK", "value": 12350})
    event = normalize("adyen", event_type, payload)
    assert event is not None and event.amount == 124  # half up
    charge = legacy_charge(captured=True, amount_captured=12345, currency="isk")
    stripe = normalize("stripe", "charge.succeeded", charge)
    assert stripe is not None and (stripe.amount, stripe.currency) == (123, "ISK")


def test_b14_other_fractions_are_still_refused() -> None:
    from chalicelib.errors import ProcessingError
    from chalicelib.payments import money

    with pytest.raises(ProcessingError):
        money.minor_units_from_integer_or_historical(12345, "JPY", "amount", 2)  # JPY never had decimals here
    with pytest.raises(ProcessingError):
        money.minor_units_from_integer_or_historical("12345", "ISK", "amount", 2)


def test_b12_zero_value_registrations_and_vaulting_authorisations_are_not_payments() -> None:
    razorpay = copy.deepcopy(corpus("razorpay", "sdk-fake-payment-authorized")["payload"])
    razorpay["payload"]["payment"]["entity"]["amount"] = 0  # an e-mandate's registration transaction
    assert normalize("razorpay", "payment.authorized", razorpay) is None
    paypal = copy.deepcopy(corpus("paypal", "openapi-verify-webhook-signature-example")["payload"])
    paypal["resource"]["amount"]["total"] = "0.00"
    assert normalize("paypal", "PAYMENT.AUTHORIZATION.CREATED", paypal) is None
    # a real amount on the same shapes is still a payment
    assert normalize("razorpay", "payment.authorized", corpus("razorpay", "sdk-fake-payment-authorized")["payload"])
    assert normalize("paypal", "PAYMENT.AUTHORIZATION.CREATED",
                     corpus("paypal", "openapi-verify-webhook-signature-example")["payload"])
