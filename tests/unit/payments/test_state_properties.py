"""Property: a payment's final state does not depend on delivery order or duplicates.

Hypothesis generates payment life cycles (authorize, capture, partial and full refunds, some
pending first, some failing, a dispute and its outcome, late stragglers, provider times that tie)
and checks that every permutation, with random duplicates, folds to the state in-order delivery
gives. It runs on the pure state machine, so hundreds of examples take a second.

Deterministic by default (``derandomize``: the same examples on every run, so CI is stable); set
``HYPOTHESIS_RANDOM=1`` to explore new ones locally.
"""

from __future__ import annotations

import os
from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chalicelib.payments.model import PaymentEvent
from chalicelib.payments.state import fold
from tests.unit.payments.events import dispute, make, payment, refund

PROPERTY = settings(
    max_examples=300,
    derandomize=os.environ.get("HYPOTHESIS_RANDOM") != "1",
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@st.composite
def life_cycles(draw: st.DrawFn) -> list[PaymentEvent]:
    """One payment's events, in the order the provider produced them."""
    currency, amount = draw(st.sampled_from([("USD", 2000), ("JPY", 5000), ("KWD", 12345)]))
    # A monotone clock that often does not move: ties are frequent (Stripe has 1 s resolution).
    clock = iter(range(10_000))
    coarseness = draw(st.sampled_from([1, 2, 3]))
    tick = lambda: next(clock) // coarseness  # noqa: E731
    events = [payment("created", "pending", tick(), amount=amount, currency=currency)]
    if draw(st.booleans()):
        events.append(payment("action", "requires_action", tick(), amount=None, currency=currency))
    if draw(st.booleans()):
        events.append(payment("failed", "failed", tick(), amount=None, currency=currency))
        events.append(payment("retry", "pending", tick(), amount=None, currency=currency))
    events.append(payment("auth", "authorized", tick(), amount=amount, currency=currency))
    if draw(st.booleans()):
        events.append(payment("void", "canceled", tick(), amount=None, currency=currency))
        return events
    captured = draw(st.integers(min_value=1, max_value=amount))
    if draw(st.booleans()):  # one capture, reported without a capture id (Square, GoCardless, old records)
        events.append(payment("capture", "succeeded", tick(), amount=captured, currency=currency))
    else:  # captures by id (Adyen, PayPal, Stripe charges): split in parts, one failing and retried
        parts = draw(st.integers(min_value=1, max_value=min(3, captured)))
        sizes = [captured // parts] * parts
        sizes[0] += captured - sum(sizes)
        for number, size in enumerate(sizes):
            if draw(st.booleans()):  # this capture fails first (Adyen CAPTURE_FAILED), then a new one succeeds
                events.append(payment(f"cap{number}-x", "succeeded", tick(), amount=size, currency=currency,
                                      capture_id=f"cap{number}-x"))
                events.append(payment(f"cap{number}-x-failed", "failed", tick(), amount=None, currency=currency,
                                      capture_id=f"cap{number}-x"))
            events.append(payment(f"cap{number}", "succeeded", tick(), amount=size, currency=currency,
                                  capture_id=f"cap{number}"))
    events.append(payment("late", "pending", tick(), amount=None, currency=currency))  # a straggler
    remaining, total = captured, 0
    for number in range(draw(st.integers(min_value=0, max_value=4))):
        if remaining == 0:
            break
        full = draw(st.booleans())
        value = remaining if full else draw(st.integers(min_value=1, max_value=remaining))
        refund_id = f"re_{number}"
        if draw(st.booleans()):
            events.append(refund(f"{refund_id}-p", "refund_pending", tick(), refund_id, value, currency=currency))
        outcome = draw(st.sampled_from(["refund_succeeded", "refund_succeeded", "refund_failed"]))
        when = tick()
        events.append(refund(f"{refund_id}-{outcome}", outcome, when, refund_id, value, currency=currency))
        if draw(st.booleans()):  # the same refund told by a second provider event (another event id)
            events.append(refund(f"{refund_id}-{outcome}-again", outcome, when, refund_id, value, currency=currency))
        if outcome == "refund_succeeded":
            remaining, total = remaining - value, total + value
            if draw(st.booleans()):  # the provider's running total, as Stripe's charge.refunded has it
                events.append(make(f"{refund_id}-t", "refund", "refund_succeeded", tick(), amount=captured,
                                   currency=currency, refunded_total=total))
    if draw(st.booleans()):  # an inquiry, closed or not: it never moves money
        events.append(dispute("inquiry", "dispute_open", tick(), "dp_inquiry", currency=currency,
                              dispute_inquiry=True))
        if draw(st.booleans()):
            events.append(dispute("inquiry-closed", "dispute_won", tick(), "dp_inquiry", currency=currency,
                                  dispute_inquiry=True))
    if draw(st.booleans()):
        stated = draw(st.sampled_from([None, captured]))
        events.append(dispute("dispute", "dispute_open", tick(), currency=currency, dispute_amount=stated))
        ruling = draw(st.sampled_from([None, "dispute_won", "dispute_lost"]))
        if ruling:
            events.append(dispute(f"dispute-{ruling}", ruling, tick(), currency=currency, dispute_amount=stated))
        if ruling == "dispute_lost" and draw(st.booleans()):  # PayPal's PAYMENT.CAPTURE.REVERSED
            events.append(make("reversal", "refund", "refund_succeeded", tick(), currency=currency,
                               refund_id="rv_1", refund_amount=captured, refunded_total=captured, reversal=True))
    return events


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[PaymentEvent], list[PaymentEvent]]:
    """(the life cycle in order, the same events shuffled with random duplicates)."""
    events = draw(life_cycles())
    shuffled = list(draw(st.permutations(events)))
    for _ in range(draw(st.integers(min_value=0, max_value=len(events)))):
        duplicate = draw(st.sampled_from(events))
        shuffled.insert(draw(st.integers(min_value=0, max_value=len(shuffled))), duplicate)
    return events, shuffled


@PROPERTY
@given(deliveries())
def test_any_delivery_order_with_duplicates_ends_in_the_in_order_state(
    case: tuple[list[PaymentEvent], list[PaymentEvent]],
) -> None:
    in_order, delivered = case
    expected, actual = fold(in_order), fold(delivered)
    assert actual.facts() == expected.facts()
    assert (actual.status, actual.amount, actual.amounts) == (expected.status, expected.amount, expected.amounts)


@PROPERTY
@given(deliveries())
def test_the_amounts_by_kind_are_what_the_life_cycle_moved(
    case: tuple[list[PaymentEvent], list[PaymentEvent]],
) -> None:
    in_order, delivered = case
    state = fold(delivered)
    final: dict[str, PaymentEvent] = {}
    for event in in_order:  # the provider's last word on each capture (in time order)
        if event.capture_id is not None:
            final[event.capture_id] = event
    plain = [e for e in in_order if e.kind == "payment" and e.capture_id is None and e.status == "succeeded"]
    expected = sum(e.amount or 0 for e in final.values() if e.status == "succeeded") if final else (
        plain[-1].amount if plain else 0)
    assert state.captured_amount == expected
    assert state.authorized_amount == next(e.amount for e in in_order if e.status == "authorized")
    lost = [e for e in in_order if e.kind == "dispute" and not e.dispute_inquiry]
    outcome = lost[-1].status if lost else None
    assert state.disputed_amount == (state.captured_amount if outcome in ("dispute_open", "dispute_lost") else 0)
    if state.captured_amount and state.refunded_amount < state.captured_amount and not lost:
        assert state.status in ("succeeded", "partially_refunded")


@PROPERTY
@given(deliveries())
def test_refunds_never_count_twice_and_never_exceed_what_was_refunded(
    case: tuple[list[PaymentEvent], list[PaymentEvent]],
) -> None:
    in_order, delivered = case
    state = fold(delivered)
    final = {}
    for event in in_order:  # the provider's own final word on each refund (in time order)
        if event.refund_id is not None and not event.reversal:  # a reversal is the dispute's money
            final[event.refund_id] = event
    succeeded = sum(e.refund_amount or 0 for e in final.values() if e.status == "refund_succeeded")
    assert state.refunded_amount == succeeded


@PROPERTY
@given(deliveries(), st.integers(min_value=0, max_value=100))
def test_folding_two_halves_and_merging_them_is_the_same_state(
    case: tuple[list[PaymentEvent], list[PaymentEvent]], cut: int
) -> None:
    # (how a PayPal record first created under a capture id is folded into its order's record)
    _, delivered = case
    split = cut % (len(delivered) + 1)
    left, right = fold(delivered[:split]), fold(delivered[split:])
    assert left.merge(right).facts() == fold(delivered).facts()


# -- the ledger details (issue #13): fees, references and reasons keep the order-proof fold -------

REFERENCE_CHOICES: list[tuple[tuple[str, str], ...]] = [
    (), (("orderId", "o-1"),), (("orderId", "o-2"), ("merchantReference", "m-1")), (("customId", "c"),),
]


@st.composite
def detailed_life_cycles(draw: st.DrawFn) -> list[PaymentEvent]:
    """A life cycle whose events carry what real payloads carry: a fee and net on some captures
    (PayPal seller_receivable_breakdown, Square processing_fee), the fee a refund gives back, the
    merchant's references (sometimes two events disagree), failure and dispute reasons."""
    events = draw(life_cycles())
    detailed: list[PaymentEvent] = []
    for event in events:
        changes: dict[str, object] = {"references": draw(st.sampled_from(REFERENCE_CHOICES))}
        priced = event.currency is not None and draw(st.booleans())
        if priced and event.kind == "payment" and event.status == "succeeded" and event.amount:
            fee = event.amount // 20
            changes.update(fee=fee, net=event.amount - fee, fee_currency=event.currency)
            if draw(st.booleans()):
                changes.update(settlement_amount=event.amount * 2, settlement_currency="EUR", exchange_rate="2.0")
        elif priced and event.kind == "refund" and event.refund_amount and not event.reversal:
            fee = event.refund_amount // 50
            changes.update(fee=fee, net=event.refund_amount - fee, fee_currency=event.currency)
        if event.status in ("failed", "refund_failed", "dispute_open", "dispute_lost") and draw(st.booleans()):
            changes["reason"] = f"code_{event.provider_event_id}: it said no"
        detailed.append(replace(event, **changes))  # type: ignore[arg-type]  # the keys are PaymentEvent fields
    return detailed


@st.composite
def detailed_deliveries(draw: st.DrawFn) -> tuple[list[PaymentEvent], list[PaymentEvent]]:
    events = draw(detailed_life_cycles())
    shuffled = list(draw(st.permutations(events)))
    for _ in range(draw(st.integers(min_value=0, max_value=len(events)))):
        shuffled.insert(draw(st.integers(min_value=0, max_value=len(shuffled))), draw(st.sampled_from(events)))
    return events, shuffled


@PROPERTY
@given(detailed_deliveries())
def test_fees_references_and_reasons_do_not_depend_on_delivery_order(
    case: tuple[list[PaymentEvent], list[PaymentEvent]],
) -> None:
    in_order, delivered = case
    expected, actual = fold(in_order), fold(delivered)
    assert actual.facts() == expected.facts()
    assert actual.amounts == expected.amounts
    assert actual.last_reason == expected.last_reason
    # merging two halves (a record first seen under an alias) gives the same details too
    half = len(delivered) // 2
    merged = fold(delivered[:half]).merge(fold(delivered[half:]))
    assert (merged.amounts, dict(merged.references), merged.last_reason) == (
        expected.amounts, dict(expected.references), expected.last_reason)


@PROPERTY
@given(detailed_deliveries())
def test_the_fee_is_what_the_priced_movements_that_happened_cost(
    case: tuple[list[PaymentEvent], list[PaymentEvent]],
) -> None:
    in_order, delivered = case
    state = fold(delivered)
    latest: dict[str, PaymentEvent] = {}  # the last priced event of each movement (times only grow in order)
    for event in in_order:
        if event.fee is None:
            continue
        if event.kind == "refund":
            latest[f"refund:{event.refund_id}"] = event
        elif event.capture_id is not None:
            latest[f"capture:{event.capture_id}"] = event
        else:
            latest["payment"] = event
    fee = 0
    counted = 0
    for name, event in latest.items():
        what, _, movement = name.partition(":")
        if what == "capture" and state.captures[movement].status == "succeeded":
            fee, counted = fee + (event.fee or 0), counted + 1
        elif what == "refund" and state.refunds[movement].status == "refund_succeeded":
            fee, counted = fee - (event.fee or 0), counted + 1
        elif what == "payment" and state.captured_amount > 0 and not state.captures:
            fee, counted = fee + (event.fee or 0), counted + 1
    assert state.amounts.fee == (fee if counted else None)
    if counted:
        assert state.amounts.fee_currency == state.currency
    reasons = [e for e in in_order if e.reason is not None]
    last = max(reasons, key=lambda e: (e.occurred_at, e.event_id)) if reasons else None
    assert (state.last_reason.reason if state.last_reason else None) == (last.reason if last else None)
    assert len(state.references) <= 8
