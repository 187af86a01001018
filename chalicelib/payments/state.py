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
- ``disputes``: one fact per dispute id, open < won / lost (time decides between outcomes); an
  inquiry (Stripe ``warning_*``) is marked as such and, at equal time, loses to a chargeback of the
  same id (an escalated inquiry).
- ``captures``: one fact per capture id (payment events that name one: Stripe charge, PayPal
  capture, Adyen CAPTURE), pending < succeeded / failed, time deciding between final ones (an Adyen
  CAPTURE_FAILED undoes its CAPTURE), then the amount (Stripe's ``amount_received`` only grows).
  Such facts stay out of ``lifecycle``: a capture that later fails must not leave a ``succeeded``.
- ``authorization``: the latest authorized fact stating an amount (an adjustment is a later one).
- ``reversals``: refund-shaped events by id that are the provider taking the money back (PayPal
  ``PAYMENT.CAPTURE.REVERSED``): money of the disputes, never counted as refunded.
- ``livemode`` and ``account``: context, joined by ``max`` (a payment has one of each).
- ``fees``, ``references`` and ``last_reason``: the ledger details (:mod:`chalicelib.payments.details`),
  each with its own join; they never decide the status.
- ``moved``: per capture, refund and chargeback, the *earliest* fact that moved money (a succeeded
  capture or refund, an open or lost chargeback), joined by ``min``: when its final fact undoes it
  (a capture or refund that failed after succeeding, a chargeback won back), the export books the
  movement at the time it happened and its reversal at the time it was undone, like a journal,
  rather than rewriting the past (:mod:`chalicelib.payments.ledger`). It never decides the status.

Derived amounts (minor units): ``captured`` sums the captures whose final fact succeeded (without
capture facts: the amount, once the lifecycle succeeded); ``refunded`` sums succeeded refunds, plus
the part of the provider's running total that no named refund explains (Stripe's
``amount_refunded`` never goes down, so a refund that failed after succeeding is explained by its
failed fact and not counted); ``disputed`` is the larger of the open and lost chargebacks' amounts
and the succeeded reversals (a lost dispute and its reversal are one debit); a won dispute's funds
are reinstated.

Derived fees: a capture's fee counts while that capture's final fact succeeded, a refund's returned
fee while that refund succeeded, a payment-level fee (no capture ids) while money is captured; the
fee is the sum over captures minus the fees returned, the net the captures' net minus the refunds'
(see :func:`chalicelib.payments.details.totals`).

Derived status: an open chargeback is ``disputed``; a lost one ``dispute_lost``; refunds reaching
the captured amount ``refunded``; any refund ``partially_refunded``; a won chargeback
``dispute_won``; otherwise any captured money makes it ``succeeded`` (voiding the remainder of a
partial capture does not cancel it), and else the lifecycle's status (``pending`` before any
payment fact; a pending or failed capture stands for the payment when nothing else was reported).

Idempotence per event id comes on top: ``applied`` remembers the event ids already folded in
(the most recent :data:`MAX_APPLIED`), so a replay is recognised and leaves the record as it
was. Beyond that bound a replay is still harmless to the state (joins are idempotent); it would
only add a history line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.payments import details, ledger_facts
from chalicelib.payments.details import FeeFact, FeeTotals, ReasonFact
from chalicelib.payments.facts import (
    Fact,
    amount_key,
    authorization_key,
    capture_key,
    dispute_key,
    join,
    join_currency,
    join_maps,
    join_optional,
    lifecycle_key,
    refund_key,
    reported_key,
)
from chalicelib.payments.model import EventKind, PaymentEvent, PaymentStatus

MAX_APPLIED = 200


@dataclass(frozen=True)
class Amounts:
    """A payment's money by kind, in ISO 4217 minor units of its currency."""

    authorized: int
    captured: int
    refunded: int
    disputed: int
    fee: int | None = None
    """Fees of the counted captures minus the fees refunds gave back (in :attr:`fee_currency`),
    when a payload stated one; None otherwise."""
    net: int | None = None
    fee_currency: str | None = None

    def to_json(self) -> dict[str, int]:
        """The amounts by kind; ``fee`` and ``net`` only when known (they are in
        :attr:`fee_currency`, which the record's views add beside them)."""
        document = {
            "authorized": self.authorized,
            "captured": self.captured,
            "refunded": self.refunded,
            "disputed": self.disputed,
        }
        if self.fee is not None:
            document["fee"] = self.fee
        if self.net is not None:
            document["net"] = self.net
        return document


_LIFECYCLE_DISPLACED = frozenset({PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION, PaymentStatus.FAILED})


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
    captures: Mapping[str, Fact] = field(default_factory=dict)
    authorization: Fact | None = None
    reversals: Mapping[str, Fact] = field(default_factory=dict)
    livemode: bool | None = None
    account: str | None = None
    fees: Mapping[str, FeeFact] = field(default_factory=dict)
    references: Mapping[str, str] = field(default_factory=dict)
    last_reason: ReasonFact | None = None
    moved: Mapping[str, Fact] = field(default_factory=dict)

    # -- folding -------------------------------------------------------------------------------

    def has_applied(self, event_id: str) -> bool:
        return event_id in self.applied

    def apply(self, event: PaymentEvent) -> PaymentState:
        """This state joined with ``event``'s facts; the same state if it was applied already."""
        if self.has_applied(event.event_id):
            return self
        currency = join_currency(self.currency, event.currency)
        at, event_id = event.occurred_at, event.event_id
        lifecycle, refunds, disputes = self.lifecycle, self.refunds, self.disputes
        captures, authorization, reversals = self.captures, self.authorization, self.reversals
        if event.kind == EventKind.PAYMENT and event.capture_id is not None:
            fact = Fact(event.status, at, event_id, event.amount)
            captures = join_maps(captures, {event.capture_id: fact}, capture_key)
        elif event.kind == EventKind.PAYMENT:
            lifecycle = join(lifecycle, Fact(event.status, at, event_id), lifecycle_key)
        elif event.kind == EventKind.REFUND and event.refund_id is not None and event.reversal:
            fact = Fact(event.status, at, event_id, event.refund_amount, EventKind.REFUND)
            reversals = join_maps(reversals, {event.refund_id: fact}, refund_key)
        elif event.kind == EventKind.REFUND and event.refund_id is not None:
            fact = Fact(event.status, at, event_id, event.refund_amount, EventKind.REFUND)
            refunds = join_maps(refunds, {event.refund_id: fact}, refund_key)
        elif event.kind == EventKind.DISPUTE:
            fact = Fact(event.status, at, event_id, event.dispute_amount, EventKind.DISPUTE, event.dispute_inquiry)
            # Named by the provider-scoped key, as before records were keyed by source: a record
            # moved to its source's key keeps the same facts.
            disputes = join_maps(disputes, {event.dispute_id or event.provider_payment_key: fact}, dispute_key)
        if event.kind == EventKind.PAYMENT and event.status == PaymentStatus.AUTHORIZED and event.amount is not None:
            authorization = join(authorization, Fact(event.status, at, event_id, event.amount), authorization_key)
        amount_fact = self.amount_fact
        if event.amount is not None:
            stated = Fact(event.status, at, event_id, event.amount, event.kind)
            amount_fact = join(amount_fact, stated, amount_key)
        reported = self.reported_refunded
        # A reversal's running total counts the reversal itself (PayPal's total_refunded_amount):
        # it is not a refund total.
        if event.refunded_total is not None and not event.reversal:
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
            captures=captures,
            authorization=authorization,
            reversals=reversals,
            livemode=join_optional(self.livemode, event.livemode),
            account=join_optional(self.account, event.account),
            fees=details.join_fees(self.fees, ledger_facts.fee_facts(event)),
            references=details.join_references(self.references, dict(event.references)),
            last_reason=details.later(self.last_reason, ledger_facts.reason_fact(event)),
            moved=ledger_facts.join_earliest(self.moved, ledger_facts.moved_facts(event)),
        )

    def merge(self, other: PaymentState) -> PaymentState:
        """The join of two states (a PayPal payment first seen under its capture id, folded into
        its order's record): order-independent like :meth:`apply`, and idempotent."""
        seen = set(self.applied)
        return PaymentState(
            lifecycle=join(self.lifecycle, other.lifecycle, lifecycle_key),
            amount_fact=join(self.amount_fact, other.amount_fact, amount_key),
            currency=join_currency(self.currency, other.currency),
            refunds=join_maps(self.refunds, other.refunds, refund_key),
            reported_refunded=join(self.reported_refunded, other.reported_refunded, reported_key),
            disputes=join_maps(self.disputes, other.disputes, dispute_key),
            aliases=tuple(sorted(set(self.aliases) | set(other.aliases))),
            applied=(*self.applied, *(e for e in other.applied if e not in seen))[-MAX_APPLIED:],
            captures=join_maps(self.captures, other.captures, capture_key),
            authorization=join(self.authorization, other.authorization, authorization_key),
            reversals=join_maps(self.reversals, other.reversals, refund_key),
            livemode=join_optional(self.livemode, other.livemode),
            account=join_optional(self.account, other.account),
            fees=details.join_fees(self.fees, other.fees),
            references=details.join_references(self.references, other.references),
            last_reason=details.later(self.last_reason, other.last_reason),
            moved=ledger_facts.join_earliest(self.moved, other.moved),
        )

    # -- derived ---------------------------------------------------------------------------------

    @property
    def amount(self) -> int | None:
        return self.amount_fact.amount if self.amount_fact is not None else None

    @property
    def captured_amount(self) -> int:
        if self.captures:
            return sum(f.amount or 0 for f in self.captures.values() if f.status == PaymentStatus.SUCCEEDED)
        if self.lifecycle is not None and self.lifecycle.status == PaymentStatus.SUCCEEDED:
            return self.amount or 0
        return 0

    @property
    def authorized_amount(self) -> int:
        """The amount last authorized; without an authorization fact, what a capture implies."""
        if self.authorization is not None and self.authorization.amount is not None:
            return self.authorization.amount
        return self.captured_amount

    @property
    def refunded_amount(self) -> int:
        def total(status: str) -> int:
            return sum(f.amount or 0 for f in self.refunds.values() if f.status == status)

        succeeded = total(PaymentStatus.REFUND_SUCCEEDED)
        reported = (self.reported_refunded.amount or 0) if self.reported_refunded is not None else 0
        # The provider's running total may include refunds it never named (Stripe's charge.refunded
        # without its list), and it never goes down when a refund fails: only the part no named
        # refund (succeeded or failed) or reversal explains is counted on top of the named refunds.
        reversed_ = sum(f.amount or 0 for f in self.reversals.values() if f.status == PaymentStatus.REFUND_SUCCEEDED)
        unexplained = reported - succeeded - total(PaymentStatus.REFUND_FAILED) - reversed_
        return succeeded + max(0, unexplained)

    def _chargebacks(self) -> list[Fact]:
        return [f for f in self.disputes.values() if not f.inquiry]

    @property
    def disputed_amount(self) -> int:
        at_stake = sum(
            f.amount if f.amount is not None else self._gross()
            for f in self._chargebacks()
            if f.status in (PaymentStatus.DISPUTE_OPEN, PaymentStatus.DISPUTE_LOST)
        )
        reversed_ = sum(f.amount or 0 for f in self.reversals.values() if f.status == PaymentStatus.REFUND_SUCCEEDED)
        # A lost chargeback and the reversal that takes its money are one debit, not two.
        return max(at_stake, reversed_)

    def _gross(self) -> int:
        """What refunds and disputes are measured against: the captured amount, else the amount."""
        return self.captured_amount or (self.amount or 0)

    @property
    def fee_totals(self) -> FeeTotals:
        """The fee facts that count (their movement happened) and their totals."""
        return ledger_facts.counted_fees(self.fees, self.captures, self.refunds, self.captured_amount)

    @property
    def amounts(self) -> Amounts:
        fees = self.fee_totals
        return Amounts(
            authorized=self.authorized_amount,
            captured=self.captured_amount,
            refunded=self.refunded_amount,
            disputed=self.disputed_amount,
            fee=fees.fee,
            net=fees.net,
            fee_currency=fees.currency,
        )

    def _lifecycle_status(self) -> str:
        base = self.lifecycle.status if self.lifecycle is not None else PaymentStatus.PENDING
        if not self.captures:
            return base
        if self.captured_amount > 0:
            return PaymentStatus.SUCCEEDED
        if base not in _LIFECYCLE_DISPLACED and self.lifecycle is not None:
            return base  # authorized (a capture failed: the authorisation stands), canceled, succeeded
        outcomes = {f.status for f in self.captures.values()}
        if PaymentStatus.PENDING in outcomes or PaymentStatus.REQUIRES_ACTION in outcomes:
            return PaymentStatus.PENDING
        return PaymentStatus.FAILED if PaymentStatus.FAILED in outcomes else base

    @property
    def status(self) -> str:
        outcomes = {fact.status for fact in self._chargebacks()}
        if PaymentStatus.DISPUTE_OPEN in outcomes:
            return PaymentStatus.DISPUTED
        if PaymentStatus.DISPUTE_LOST in outcomes:
            return PaymentStatus.DISPUTE_LOST
        refunded, gross = self.refunded_amount, self._gross()
        if refunded > 0 and gross > 0 and refunded >= gross:
            return PaymentStatus.REFUNDED
        if refunded > 0:
            return PaymentStatus.PARTIALLY_REFUNDED
        if PaymentStatus.DISPUTE_WON in outcomes:
            return PaymentStatus.DISPUTE_WON
        return self._lifecycle_status()

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

        def many(facts: Mapping[str, Fact]) -> dict[str, Any]:
            return {name: fact.to_json() for name, fact in sorted(facts.items())}

        document: dict[str, Any] = {
            "lifecycle": one(self.lifecycle),
            "amountFact": one(self.amount_fact),
            "currency": self.currency,
            "refunds": many(self.refunds),
            "reportedRefunded": one(self.reported_refunded),
            "disputes": many(self.disputes),
            "aliases": list(self.aliases),
            "applied": list(self.applied),
        }
        # The slots added for amounts by kind, only when they hold something: a state stored
        # before them serializes exactly as it did (the record's "changed" compares documents).
        optional = {
            "captures": many(self.captures),
            "authorization": one(self.authorization),
            "reversals": many(self.reversals),
            "livemode": self.livemode,
            "account": self.account,
            "fees": {name: fact.to_json() for name, fact in sorted(self.fees.items())},
            "references": dict(sorted(self.references.items())),
            "lastReason": self.last_reason.to_json() if self.last_reason is not None else None,
            "moved": many(self.moved),
        }
        document.update({name: value for name, value in optional.items() if value not in (None, {})})
        return document

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PaymentState:
        def one(value: Any) -> Fact | None:
            return Fact.from_json(value) if value else None

        def many(value: Any) -> dict[str, Fact]:
            return {k: Fact.from_json(v) for k, v in (value or {}).items()}

        return cls(
            lifecycle=one(data.get("lifecycle")),
            amount_fact=one(data.get("amountFact")),
            currency=data.get("currency"),
            refunds=many(data.get("refunds")),
            reported_refunded=one(data.get("reportedRefunded")),
            disputes=many(data.get("disputes")),
            aliases=tuple(data.get("aliases") or ()),
            applied=tuple(data.get("applied") or ()),
            captures=many(data.get("captures")),
            authorization=one(data.get("authorization")),
            reversals=many(data.get("reversals")),
            livemode=data.get("livemode"),
            account=data.get("account"),
            fees={k: FeeFact.from_json(v) for k, v in (data.get("fees") or {}).items()},
            references=dict(data.get("references") or {}),
            last_reason=ReasonFact.from_json(data["lastReason"]) if data.get("lastReason") else None,
            moved=many(data.get("moved")),
        )


def fold(events: list[PaymentEvent], start: PaymentState | None = None) -> PaymentState:
    """Apply ``events`` in the given order (tests, and the property that order does not matter)."""
    state = start or PaymentState()
    for event in events:
        state = state.apply(event)
    return state
