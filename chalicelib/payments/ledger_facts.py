"""The ledger-detail facts of an event, and which of a payment's fees count (issue #13).

Apart from :mod:`chalicelib.payments.state` so that the state module keeps to the money by kind
and the status; :mod:`chalicelib.payments.details` has the facts and their joins.
"""

from __future__ import annotations

from collections.abc import Mapping

from chalicelib.payments import details
from chalicelib.payments.details import FeeFact, FeeTotals, ReasonFact
from chalicelib.payments.facts import Fact
from chalicelib.payments.model import EventKind, PaymentEvent, PaymentStatus

MOVED_CAPTURE = "capture"
MOVED_REFUND = "refund"
MOVED_DISPUTE = "dispute"


def fee_facts(event: PaymentEvent) -> dict[str, FeeFact]:
    """The fee fact of ``event`` under its movement's slot, or nothing."""
    if event.fee_currency is None:
        return {}
    if event.kind == EventKind.REFUND and event.refund_id is not None and not event.reversal:
        name = details.fee_key(details.FEE_REFUND, event.refund_id)
    elif event.kind == EventKind.PAYMENT:
        name = details.fee_key(details.FEE_CAPTURE, event.capture_id) if event.capture_id else details.FEE_PAYMENT
    else:
        return {}  # a dispute's or a reversal's fee: not booked (no provider states one today)
    fact = FeeFact(event.occurred_at, event.event_id, event.fee_currency, event.fee, event.net,
                   event.settlement_amount, event.settlement_currency, event.exchange_rate)
    return {name: fact}


def reason_fact(event: PaymentEvent) -> ReasonFact | None:
    if event.reason is None:
        return None
    return ReasonFact(event.occurred_at, event.event_id, event.kind, event.status, event.reason)


def counted_fees(
    fees: Mapping[str, FeeFact], captures: Mapping[str, Fact], refunds: Mapping[str, Fact], captured: int
) -> FeeTotals:
    """The fee facts whose movement happened, and their totals: a capture's while that capture's
    final fact succeeded, a refund's given-back fee while that refund succeeded, the payment's
    own fee (providers without capture ids) while money is captured and no capture is priced."""
    counted: list[tuple[str, FeeFact]] = []
    for name, fact in sorted(fees.items()):
        what, _, movement = name.partition(":")
        if what == details.FEE_CAPTURE:
            capture = captures.get(movement)
            counts = capture is not None and capture.status == PaymentStatus.SUCCEEDED
        elif what == details.FEE_REFUND:
            refund = refunds.get(movement)
            counts = refund is not None and refund.status == PaymentStatus.REFUND_SUCCEEDED
        else:
            counts = captured > 0 and not captures
        if counts:
            counted.append((name, fact))
    return details.totals(counted)


def moved_name(movement: str, name: str) -> str:
    """The ``moved`` slot's key of a capture, refund or dispute."""
    return f"{movement}:{name}"


def moved_facts(event: PaymentEvent) -> dict[str, Fact]:
    """``event``'s fact under its movement's ``moved`` key when it says money moved: a succeeded
    capture or refund (a reversal is not: it is booked with the disputes), an open or lost
    chargeback (an inquiry moves nothing)."""
    at, event_id = event.occurred_at, event.event_id
    if event.kind == EventKind.PAYMENT and event.capture_id is not None:
        if event.status == PaymentStatus.SUCCEEDED and event.amount:
            return {moved_name(MOVED_CAPTURE, event.capture_id): Fact(event.status, at, event_id, event.amount)}
    elif event.kind == EventKind.REFUND and event.refund_id is not None and not event.reversal:
        if event.status == PaymentStatus.REFUND_SUCCEEDED and event.refund_amount:
            fact = Fact(event.status, at, event_id, event.refund_amount, EventKind.REFUND)
            return {moved_name(MOVED_REFUND, event.refund_id): fact}
    elif event.kind == EventKind.DISPUTE and not event.dispute_inquiry:
        if event.status in (PaymentStatus.DISPUTE_OPEN, PaymentStatus.DISPUTE_LOST):
            fact = Fact(event.status, at, event_id, event.dispute_amount, EventKind.DISPUTE)
            return {moved_name(MOVED_DISPUTE, event.dispute_id or event.provider_payment_key): fact}
    return {}


def join_earliest(a: Mapping[str, Fact], b: Mapping[str, Fact]) -> dict[str, Fact]:
    """Per key, the earlier fact (ties: the smaller event id): ``min`` is a join too, so the
    earliest movement is the same in every delivery order."""
    joined = dict(a)
    for name, fact in b.items():
        mine = joined.get(name)
        if mine is None or (fact.occurred_at, fact.event_id) < (mine.occurred_at, mine.event_id):
            joined[name] = fact
    return joined
