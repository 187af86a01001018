"""A payment's facts and the total orders that pick the winner of each slot: the building blocks
of the fold in :mod:`chalicelib.payments.state` (whose docstring says what each slot holds and
why each order is what it is).

Apart from the state so that the modules that only need a fact (the ledger, the ledger details)
import it without the state, and so that the state module keeps to the fold and what it derives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from chalicelib.errors import ProcessingError
from chalicelib.payments.model import EventKind, PaymentStatus

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
    inquiry: bool = False
    """Only meaningful in the disputes slot: an inquiry, not a chargeback."""

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "status": self.status,
            "occurredAt": self.occurred_at,
            "eventId": self.event_id,
            "amount": self.amount,
            "kind": self.kind,
        }
        if self.inquiry:  # only when set: facts stored before inquiries were told apart read the same
            document["inquiry"] = True
        return document

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Fact:
        return cls(
            status=data["status"],
            occurred_at=data["occurredAt"],
            event_id=data["eventId"],
            amount=data.get("amount"),
            kind=data.get("kind", EventKind.PAYMENT),
            inquiry=bool(data.get("inquiry", False)),
        )


def _ordered(order: Mapping[str, tuple[int, int]]) -> Callable[[Fact], tuple[Any, ...]]:
    def key(fact: Fact) -> tuple[Any, ...]:
        rank, step = order[fact.status]
        return (rank, fact.occurred_at, step, fact.event_id)

    return key


lifecycle_key = _ordered(LIFECYCLE_ORDER)
refund_key = _ordered(REFUND_ORDER)
CAPTURE_ORDER: dict[str, tuple[int, int]] = {
    PaymentStatus.PENDING: (0, 0),
    PaymentStatus.REQUIRES_ACTION: (0, 1),
    PaymentStatus.AUTHORIZED: (0, 2),
    PaymentStatus.SUCCEEDED: (1, 0),
    PaymentStatus.CANCELED: (1, 1),
    PaymentStatus.FAILED: (1, 2),
}


def capture_key(fact: Fact) -> tuple[Any, ...]:
    rank, step = CAPTURE_ORDER[fact.status]
    return (rank, fact.occurred_at, step, fact.amount or 0, fact.event_id)


def dispute_key(fact: Fact) -> tuple[Any, ...]:
    rank, step = DISPUTE_ORDER[fact.status]
    return (rank, fact.occurred_at, step, not fact.inquiry, fact.event_id)


def authorization_key(fact: Fact) -> tuple[Any, ...]:
    return (fact.occurred_at, fact.amount or 0, fact.event_id)


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


def join_maps(
    a: Mapping[str, Fact], b: Mapping[str, Fact], key: Callable[[Fact], tuple[Any, ...]]
) -> dict[str, Fact]:
    joined = dict(a)
    for name, fact in b.items():
        joined[name] = join(joined.get(name), fact, key)  # type: ignore[assignment]  # never None: fact is present
    return joined


def join_optional(a: Any, b: Any) -> Any:
    """The larger of two context values, either absent: a join (a payment has one of each)."""
    if a is None:
        return b
    if b is None:
        return a
    return max(a, b)


def join_currency(a: str | None, b: str | None) -> str | None:
    if a is not None and b is not None and a != b:
        raise ProcessingError("the event's currency differs from the payment's currency")
    return a if a is not None else b
