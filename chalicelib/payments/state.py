"""The payment state machine: a fold over the *set* of facts a payment's events report.

Providers deliver late, twice and out of order, so "the status the last event said" would let
delivery order decide. Instead every :class:`~chalicelib.payments.model.PaymentEvent` is a fact,
and the state keeps, per slot, the greatest fact under a fixed total order. Taking the greatest
is a join (commutative, associative, idempotent), so every permutation of every multiset of the
same events ends in the same state; the payment's status is then *derived* from the slots.

Slots, and the order that picks the winner in each:

- ``lifecycle``: the payment facts, by (phase, provider time, step, event id). Phases are
  1 = pending / requires_action / failed (an attempt: a failed attempt can be retried),
  2 = authorized, 3 = succeeded / canceled (final). A fact of a lower phase never beats a higher
  one, whatever its time: a late ``processing`` after ``succeeded`` changes nothing. Within a
  phase the provider's event time decides; the step (pending < requires_action < failed,
  canceled < succeeded) and then the event id only break exact ties, so the result is total.
- ``amount``: the payment amount, from the greatest payment fact that states one (so the
  captured amount beats the requested one), else from the latest other fact that states one.
- ``refunds``: one fact per refund id, by (rank, time, step, event id), pending < final, and
  between final ones (succeeded, failed: Stripe refunds can fail after succeeding) time decides.
  A refund delivered twice is one id: it counts once.
- ``reported_refunded``: the provider's own running total of refunds, latest by time (ties:
  the larger total). The refunded amount is the larger of the sum of succeeded refunds and
  this total, which covers providers that report totals without naming every refund.
- ``disputes``: one fact per dispute id, open < won / lost (time decides between outcomes).

Derived status: an open dispute is ``disputed``; a lost one ``dispute_lost``; refunds reaching
the amount ``refunded``; any refund ``partially_refunded``; a won dispute ``dispute_won``;
otherwise the lifecycle's status (``pending`` before any payment fact).

Idempotence per event id comes on top: ``applied`` remembers the event ids already folded in
(the most recent :data:`MAX_APPLIED`), so a replay is recognised and leaves the record as it
was. Beyond that bound a replay is still harmless to the state (joins are idempotent); it would
only add a history line.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from chalicelib.errors import ProcessingError
from chalicelib.payments.model import EventKind, PaymentEvent, PaymentStatus

MAX_APPLIED = 200

# status -> (rank, step): rank first, then provider time, then step, then event id.
LIFECYCLE_ORDER: dict[str, tuple[int, int]] = {
    PaymentStatus.PENDING: (1, 0),
    PaymentStatus.REQUIRES_ACTION: (1, 1),
    PaymentStatus.FAILED: (1, 2),
    PaymentStatus.AUTHORIZED: (2, 0),
    PaymentStatus.CANCELED: (3, 0),
    PaymentStatus.SUCCEEDED: (3, 1),
}
REFUND_ORDER: dict[str, tuple[int, int]] = {
    PaymentStatus.REFUND_PENDING: (0, 0),
    PaymentStatus.REFUND_SUCCEEDED: (1, 0),
    PaymentStatus.REFUND_FAILED: (1, 1),
}
DISPUTE_ORDER: dict[str, tuple[int, int]] = {
    PaymentStatus.DISPUTE_OPEN: (0, 0),
    PaymentStatus.DISPUTE_WON: (1, 0),
    PaymentStatus.DISPUTE_LOST: (1, 1),
}


@dataclass(frozen=True)
class Fact:
    """What one event said about one slot."""

    status: str
    occurred_at: str
    event_id: str
    amount: int | None = None
    kind: str = EventKind.PAYMENT
    """Only meaningful in the amount slot: which kind of event stated the amount."""

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "occurredAt": self.occurred_at,
            "eventId": self.event_id,
            "amount": self.amount,
            "kind": self.kind,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fact:
        return cls(
            status=data["status"],
            occurred_at=data["occurredAt"],
            event_id=data["eventId"],
            amount=data.get("amount"),
            kind=data.get("kind", EventKind.PAYMENT),
        )


def _ordered(order: Mapping[str, tuple[int, int]]) -> Callable[[Fact], tuple[Any, ...]]:
    def key(fact: Fact) -> tuple[Any, ...]:
        rank, step = order[fact.status]
        return (rank, fact.occurred_at, step, fact.event_id)

    return key


lifecycle_key = _ordered(LIFECYCLE_ORDER)
refund_key = _ordered(REFUND_ORDER)
dispute_key = _ordered(DISPUTE_ORDER)


def amount_key(fact: Fact) -> tuple[Any, ...]:
    if fact.kind == EventKind.PAYMENT:
        return (1, *lifecycle_key(fact))
    return (0, 0, fact.occurred_at, 0, fact.event_id)


def reported_key(fact: Fact) -> tuple[Any, ...]:
    return (fact.occurred_at, fact.amount or 0, fact.event_id)


F = TypeVar("F", bound=Fact)


def join(a: F | None, b: F | None, key: Callable[[Fact], tuple[Any, ...]]) -> F | None:
    """The greater of two facts (either may be absent): the semilattice join of one slot."""
    if a is None:
        return b
    if b is None:
        return a
    return a if key(a) >= key(b) else b


def _join_maps(
    a: Mapping[str, Fact], b: Mapping[str, Fact], key: Callable[[Fact], tuple[Any, ...]]
) -> dict[str, Fact]:
    joined = dict(a)
    for name, fact in b.items():
        joined[name] = join(joined.get(name), fact, key)  # type: ignore[assignment]  # never None: fact is present
    return joined


def _join_currency(a: str | None, b: str | None) -> str | None:
    if a is not None and b is not None and a != b:
        raise ProcessingError("the event's currency differs from the payment's currency")
    return a if a is not None else b


@dataclass(frozen=True)
class PaymentState:
    """The join of every fact applied so far. Treat as immutable: every change is a new state."""

    lifecycle: Fact | None = None
    amount_fact: Fact | None = None
    currency: str | None = None
    refunds: Mapping[str, Fact] = field(default_factory=dict)
    reported_refunded: Fact | None = None
    disputes: Mapping[str, Fact] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    applied: tuple[str, ...] = ()

    # -- folding -------------------------------------------------------------------------------

    def has_applied(self, event_id: str) -> bool:
        return event_id in self.applied

    def apply(self, event: PaymentEvent) -> PaymentState:
        """This state joined with ``event``'s facts; the same state if it was applied already."""
        if self.has_applied(event.event_id):
            return self
        currency = _join_currency(self.currency, event.currency)
        at, event_id = event.occurred_at, event.event_id
        lifecycle, refunds, disputes = self.lifecycle, self.refunds, self.disputes
        if event.kind == EventKind.PAYMENT:
            lifecycle = join(lifecycle, Fact(event.status, at, event_id), lifecycle_key)
        elif event.kind == EventKind.REFUND and event.refund_id is not None:
            fact = Fact(event.status, at, event_id, event.refund_amount, EventKind.REFUND)
            refunds = _join_maps(refunds, {event.refund_id: fact}, refund_key)
        elif event.kind == EventKind.DISPUTE:
            fact = Fact(event.status, at, event_id, kind=EventKind.DISPUTE)
            # Named by the provider-scoped key, as before records were keyed by source: a record
            # moved to its source's key keeps the same facts.
            disputes = _join_maps(disputes, {event.dispute_id or event.provider_payment_key: fact}, dispute_key)
        amount_fact = self.amount_fact
        if event.amount is not None:
            stated = Fact(event.status, at, event_id, event.amount, event.kind)
            amount_fact = join(amount_fact, stated, amount_key)
        reported = self.reported_refunded
        if event.refunded_total is not None:
            total = Fact(PaymentStatus.REFUND_SUCCEEDED, at, event_id, event.refunded_total, EventKind.REFUND)
            reported = join(reported, total, reported_key)
        return PaymentState(
            lifecycle=lifecycle,
            amount_fact=amount_fact,
            currency=currency,
            refunds=refunds,
            reported_refunded=reported,
            disputes=disputes,
            aliases=tuple(sorted(set(self.aliases) | set(event.related_record_keys))),
            applied=(*self.applied, event_id)[-MAX_APPLIED:],
        )

    def merge(self, other: PaymentState) -> PaymentState:
        """The join of two states (a PayPal payment first seen under its capture id, folded into
        its order's record): order-independent like :meth:`apply`, and idempotent."""
        seen = set(self.applied)
        return PaymentState(
            lifecycle=join(self.lifecycle, other.lifecycle, lifecycle_key),
            amount_fact=join(self.amount_fact, other.amount_fact, amount_key),
            currency=_join_currency(self.currency, other.currency),
            refunds=_join_maps(self.refunds, other.refunds, refund_key),
            reported_refunded=join(self.reported_refunded, other.reported_refunded, reported_key),
            disputes=_join_maps(self.disputes, other.disputes, dispute_key),
            aliases=tuple(sorted(set(self.aliases) | set(other.aliases))),
            applied=(*self.applied, *(e for e in other.applied if e not in seen))[-MAX_APPLIED:],
        )

    # -- derived ---------------------------------------------------------------------------------

    @property
    def amount(self) -> int | None:
        return self.amount_fact.amount if self.amount_fact is not None else None

    @property
    def refunded_amount(self) -> int:
        by_refund = sum(
            fact.amount or 0 for fact in self.refunds.values() if fact.status == PaymentStatus.REFUND_SUCCEEDED
        )
        reported = self.reported_refunded.amount if self.reported_refunded is not None else 0
        return max(by_refund, reported or 0)

    @property
    def status(self) -> str:
        outcomes = {fact.status for fact in self.disputes.values()}
        if PaymentStatus.DISPUTE_OPEN in outcomes:
            return PaymentStatus.DISPUTED
        if PaymentStatus.DISPUTE_LOST in outcomes:
            return PaymentStatus.DISPUTE_LOST
        refunded, amount = self.refunded_amount, self.amount
        if refunded > 0 and amount is not None and refunded >= amount:
            return PaymentStatus.REFUNDED
        if refunded > 0:
            return PaymentStatus.PARTIALLY_REFUNDED
        if PaymentStatus.DISPUTE_WON in outcomes:
            return PaymentStatus.DISPUTE_WON
        return self.lifecycle.status if self.lifecycle is not None else PaymentStatus.PENDING

    def facts(self) -> dict[str, Any]:
        """Everything that defines the state, without the order events were applied in: two
        states with equal facts are the same payment state (what the property tests compare)."""
        document = self.to_json()
        document["applied"] = sorted(self.applied)
        return document

    # -- storage ---------------------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        def one(fact: Fact | None) -> dict[str, Any] | None:
            return fact.to_json() if fact is not None else None

        return {
            "lifecycle": one(self.lifecycle),
            "amountFact": one(self.amount_fact),
            "currency": self.currency,
            "refunds": {name: fact.to_json() for name, fact in sorted(self.refunds.items())},
            "reportedRefunded": one(self.reported_refunded),
            "disputes": {name: fact.to_json() for name, fact in sorted(self.disputes.items())},
            "aliases": list(self.aliases),
            "applied": list(self.applied),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PaymentState:
        def one(value: Any) -> Fact | None:
            return Fact.from_json(value) if value else None

        return cls(
            lifecycle=one(data.get("lifecycle")),
            amount_fact=one(data.get("amountFact")),
            currency=data.get("currency"),
            refunds={k: Fact.from_json(v) for k, v in (data.get("refunds") or {}).items()},
            reported_refunded=one(data.get("reportedRefunded")),
            disputes={k: Fact.from_json(v) for k, v in (data.get("disputes") or {}).items()},
            aliases=tuple(data.get("aliases") or ()),
            applied=tuple(data.get("applied") or ()),
        )


def fold(events: list[PaymentEvent], start: PaymentState | None = None) -> PaymentState:
    """Apply ``events`` in the given order (tests, and the property that order does not matter)."""
    state = start or PaymentState()
    for event in events:
        state = state.apply(event)
    return state
