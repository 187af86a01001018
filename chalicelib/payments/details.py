"""The ledger details of a payment (issue #13): fees and net, merchant references, reasons.

Kept apart from :mod:`chalicelib.payments.state` (the money by kind and the status) because none
of it decides the status: these are facts a ledger needs next to the amounts. Each has its own
join, so the fold stays order-proof (every permutation of the same events gives the same state):

- :class:`FeeFact`, one per money movement the provider priced (a capture, a refund's returned
  fee, a payment without capture ids), the latest stated by (provider time, event id): a later
  ``payment.updated`` of Square lists every fee of the payment, an earlier one only the first.
- references: a small map (merchant reference, order id, ...) joined key by key, the larger
  value winning a conflict, and bounded to the :data:`MAX_REFERENCES` smallest keys (a union
  followed by "keep the N smallest" is still associative and commutative).
- :class:`ReasonFact`: the latest refund, failure or dispute reason, by (provider time, event id).

The normalizers build these fields with :func:`bounded_text` and :func:`references_of`, so what a
provider sends (free text, arbitrary metadata) reaches the record bounded and printable.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from chalicelib import log
from chalicelib.errors import ProcessingError

MAX_REFERENCES = 8
MAX_REFERENCE_LENGTH = 128
MAX_REASON_LENGTH = 200
REFERENCE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.]{0,39}")
EXCHANGE_RATE = re.compile(r"[0-9]{1,12}(\.[0-9]{1,12})?")

FEE_CAPTURE = "capture"
FEE_REFUND = "refund"
FEE_PAYMENT = "payment"
"""What a fee fact is about: a capture (by capture id), a refund (the fee returned with it, by
refund id), or the payment itself (providers without capture ids: Square, Razorpay, a legacy
Stripe charge)."""


def bounded_text(value: object, limit: int = MAX_REASON_LENGTH) -> str | None:
    """``value`` as one printable line of at most ``limit`` characters, None when empty or not
    text. Provider text is free text: control characters become spaces, runs of blanks one."""
    if not isinstance(value, str):
        return None
    cleaned = " ".join("".join(ch if ch.isprintable() else " " for ch in value).split())
    if not cleaned:
        return None
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def reason_of(code: object, message: object = None) -> str | None:
    """``code: message``, or whichever of the two is text (a reason is for people and exports)."""
    parts = [part for part in (bounded_text(code, 64), bounded_text(message)) if part]
    if len(parts) == 2 and parts[0] == parts[1]:
        parts = parts[:1]
    return bounded_text(": ".join(parts)) if parts else None


def references_of(pairs: Iterable[tuple[str, object]]) -> tuple[tuple[str, str], ...]:
    """The (name, value) pairs whose value is text (numbers are read as their decimal text),
    bounded: at most :data:`MAX_REFERENCES`, the first of a repeated name kept, sorted."""
    chosen: dict[str, str] = {}
    for name, value in pairs:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        text = bounded_text(value, MAX_REFERENCE_LENGTH)
        if text is None or name in chosen or not REFERENCE_NAME.fullmatch(name):
            continue
        chosen[name] = text
    return tuple(sorted(chosen.items())[:MAX_REFERENCES])


def check_references(references: tuple[tuple[str, str], ...]) -> None:
    if len(references) > MAX_REFERENCES or len({name for name, _ in references}) != len(references):
        raise ProcessingError("the event has too many or repeated references")
    for name, value in references:
        if not REFERENCE_NAME.fullmatch(name) or bounded_text(value, MAX_REFERENCE_LENGTH) != value:
            raise ProcessingError("the event has an unusable reference")


def check_reason(reason: str | None) -> None:
    if reason is not None and bounded_text(reason) != reason:
        raise ProcessingError("the event's reason is not one bounded printable line")


def join_references(a: Mapping[str, str], b: Mapping[str, str]) -> dict[str, str]:
    joined = dict(a)
    for name, value in b.items():
        joined[name] = max(joined[name], value) if name in joined else value
    return dict(sorted(joined.items())[:MAX_REFERENCES])


@dataclass(frozen=True)
class FeeFact:
    """A provider's fee on one movement, and what the merchant nets from it.

    ``fee`` and ``net`` are minor units of ``currency`` (the fee's own currency, which may differ
    from the payment's). For a refund, ``fee`` is the fee given back and ``net`` what the merchant
    paid out. ``settlement_*`` and ``exchange_rate`` are the amount booked in the merchant's
    settlement currency when the provider converted it.
    """

    occurred_at: str
    event_id: str
    currency: str
    fee: int | None = None
    net: int | None = None
    settlement_amount: int | None = None
    settlement_currency: str | None = None
    exchange_rate: str | None = None

    def key(self) -> tuple[str, str]:
        return (self.occurred_at, self.event_id)

    def to_json(self) -> dict[str, Any]:
        document: dict[str, Any] = {
            "occurredAt": self.occurred_at, "eventId": self.event_id, "currency": self.currency,
            "fee": self.fee, "net": self.net,
        }
        if self.settlement_currency is not None:
            document.update(settlementAmount=self.settlement_amount, settlementCurrency=self.settlement_currency,
                            exchangeRate=self.exchange_rate)
        return document

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FeeFact:
        return cls(
            occurred_at=data["occurredAt"], event_id=data["eventId"], currency=data["currency"],
            fee=data.get("fee"), net=data.get("net"), settlement_amount=data.get("settlementAmount"),
            settlement_currency=data.get("settlementCurrency"), exchange_rate=data.get("exchangeRate"),
        )


@dataclass(frozen=True)
class ReasonFact:
    """Why a refund, a payment or a capture failed, why a refund was made, why a dispute opened."""

    occurred_at: str
    event_id: str
    kind: str
    status: str
    reason: str

    def key(self) -> tuple[str, str]:
        return (self.occurred_at, self.event_id)

    def to_json(self) -> dict[str, Any]:
        return {"occurredAt": self.occurred_at, "eventId": self.event_id, "kind": self.kind,
                "status": self.status, "reason": self.reason}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReasonFact:
        return cls(occurred_at=data["occurredAt"], event_id=data["eventId"], kind=data["kind"],
                   status=data["status"], reason=data["reason"])


T = TypeVar("T", FeeFact, ReasonFact)


def later(a: T | None, b: T | None) -> T | None:
    """The later of two facts (either may be absent): a join, total thanks to the event id."""
    if a is None:
        return b
    if b is None:
        return a
    return a if a.key() >= b.key() else b


def join_fees(a: Mapping[str, FeeFact], b: Mapping[str, FeeFact]) -> dict[str, FeeFact]:
    joined = dict(a)
    for name, fact in b.items():
        chosen = later(joined.get(name), fact)
        assert chosen is not None  # fact is present
        joined[name] = chosen
    return joined


def fee_key(what: str, name: str = "") -> str:
    """The slot of a fee fact: ``capture:<id>``, ``refund:<id>`` or ``payment``."""
    return f"{what}:{name}" if name else what


@dataclass(frozen=True)
class FeeTotals:
    """The fees of a payment's counted movements, in one currency (None: mixed or unknown)."""

    currency: str | None
    fee: int | None
    net: int | None
    facts: tuple[tuple[str, FeeFact], ...]
    """The counted facts, by slot name: what ``ops export`` writes one ``fee`` row for."""


def totals(counted: list[tuple[str, FeeFact]]) -> FeeTotals:
    """Fees charged on captures minus fees given back on refunds, and the merchant's net (net of
    captures minus net of refunds), when every counted fact shares one currency; the net only
    when every counted fact states one."""
    currencies = {fact.currency for _, fact in counted}
    if len(currencies) != 1:
        return FeeTotals(None, None, None, tuple(counted))
    fee = 0
    net: int | None = 0
    for name, fact in counted:
        sign = -1 if name.startswith(FEE_REFUND + ":") else 1
        fee += sign * (fact.fee or 0)
        net = None if net is None or fact.net is None else net + sign * fact.net
    return FeeTotals(currencies.pop(), fee, net, tuple(counted))


def lenient(read: Callable[[], dict[str, Any]], provider: str, webhook_id: str, what: str) -> dict[str, Any]:
    """``read()``, or nothing when the provider's detail is not in the shape we know.

    A fee or a reason is beside the money the status rests on: an unreadable one must not
    dead-letter the capture or refund it came with. It is left absent (never guessed) and the
    warning (``metric="UnreadableLedgerDetail"``) says which field, never its value.
    """
    try:
        return read()
    except ProcessingError as exc:
        log.warning("ledger detail unreadable; left absent", provider=provider, webhookId=webhook_id,
                    detail=what, error=str(exc), metric="UnreadableLedgerDetail")
        return {}
