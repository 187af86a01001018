"""A payment record's money movements, one row each: what ``ops export`` writes for finance.

Derived from the record's facts, so the rows are as order-proof as the state: a capture that
succeeded (a debit of the customer, a credit to the merchant), a refund that succeeded, a
chargeback's debit (open or lost, or a PayPal reversal when there is no chargeback amount to book
it under) and its credit when won back, and a ``fee`` row per priced movement that happened (the
provider's fee on a capture, or the fee a refund gave back: issue #13). A failed capture or
refund moves nothing. Amounts are integers in minor units; ``direction`` says which way the
merchant's money went. Movements of the customer's money are positive; a fee row is signed as
it changes what the merchant keeps: a fee charged is negative (``out``), a fee given back
positive (``in``), so gross plus fees is the net. A fee row is in the fee's own currency.

Like a journal, a row is never rewritten by what happens later: a movement is dated when it first
happened (the state's ``moved`` slot keeps the earliest money-moving fact of each capture, refund
and chargeback), and undoing it is a row of its own at the time it was undone: a
``capture_reversal`` (an Adyen CAPTURE_FAILED after its CAPTURE), a ``refund_reversal`` (a Stripe
refund that failed after succeeding), a ``dispute_credit`` (a chargeback won back). So an export
of last month stays true, and this month's export adds the reversal instead of moving last month's
debit. Records folded before the slot existed date a movement by its final fact. The
webhook id comes from the record's history (its last :data:`~chalicelib.payments.record.HISTORY_LIMIT`
entries); an older fact has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from chalicelib.payments import ledger_facts
from chalicelib.payments.details import FEE_REFUND
from chalicelib.payments.facts import Fact
from chalicelib.payments.model import PaymentStatus
from chalicelib.payments.record import PaymentRecord

COLUMNS = ("time", "payment", "source", "account", "currency", "movement", "direction", "amount", "reference",
           "webhookId")


_ORDER = {"capture": 0, "capture_reversal": 1, "refund": 2, "refund_reversal": 3, "dispute_debit": 4,
          "dispute_credit": 5, "fee": 6}
"""Within one time, a debit before its credit back."""


@dataclass(frozen=True)
class Movement:
    time: str
    payment: str
    source: str
    account: str | None
    currency: str | None
    movement: str
    """``capture``, ``capture_reversal``, ``refund``, ``refund_reversal``, ``dispute_debit``,
    ``dispute_credit``, ``fee``."""
    direction: str
    """``in`` (money to the merchant) or ``out``."""
    amount: int
    reference: str
    """The capture, refund, dispute or reversal id (for a fee: the capture's or refund's, or the
    payment's own id for a payment priced as a whole)."""
    webhook_id: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "time": self.time, "payment": self.payment, "source": self.source, "account": self.account,
            "currency": self.currency, "movement": self.movement, "direction": self.direction,
            "amount": self.amount, "reference": self.reference, "webhookId": self.webhook_id,
        }


def movements(record: PaymentRecord) -> list[Movement]:
    """The record's money movements, in time order."""
    state = record.state
    webhooks = {entry.get("eventId"): entry.get("webhookId") for entry in record.history}
    currency = state.currency.upper() if state.currency else None

    def row(fact: Fact, movement: str, direction: str, amount: int, reference: str) -> Movement:
        return Movement(fact.occurred_at, record.key, record.source, state.account, currency, movement, direction,
                        amount, reference, webhooks.get(fact.event_id))

    def first(movement: str, name: str) -> Fact | None:
        return state.moved.get(ledger_facts.moved_name(movement, name))

    rows: list[Movement] = []
    for name, final in state.captures.items():
        moved = first(ledger_facts.MOVED_CAPTURE, name)
        if final.status == PaymentStatus.SUCCEEDED and final.amount:
            rows.append(row(moved or final, "capture", "in", final.amount, name))
        elif moved is not None and moved.amount:  # captured, then undone (failed, canceled)
            rows.append(row(moved, "capture", "in", moved.amount, name))
            rows.append(row(final, "capture_reversal", "out", moved.amount, name))
    if not state.captures and state.lifecycle is not None and state.captured_amount:
        rows.append(row(state.lifecycle, "capture", "in", state.captured_amount, record.payment_id))
    for name, final in state.refunds.items():
        moved = first(ledger_facts.MOVED_REFUND, name)
        if final.status == PaymentStatus.REFUND_SUCCEEDED and final.amount:
            rows.append(row(moved or final, "refund", "out", final.amount, name))
        elif moved is not None and moved.amount:  # refunded, then failed: the money came back
            rows.append(row(moved, "refund", "out", moved.amount, name))
            rows.append(row(final, "refund_reversal", "in", moved.amount, name))
    gross = state.captured_amount or (state.amount or 0)
    chargebacks = [(name, f) for name, f in state.disputes.items() if not f.inquiry]
    for name, f in chargebacks:
        moved = first(ledger_facts.MOVED_DISPUTE, name)
        amount = f.amount if f.amount is not None else gross
        if f.status in (PaymentStatus.DISPUTE_OPEN, PaymentStatus.DISPUTE_LOST) and amount:
            rows.append(row(moved or f, "dispute_debit", "out", amount, name))
        elif f.status == PaymentStatus.DISPUTE_WON:
            # a won chargeback: its debit, when it was seen, at the time it was taken, credited back
            # when won. A dispute known only by its outcome is debited and credited at that time:
            # the pair nets to zero.
            debit = (moved.amount if moved is not None and moved.amount is not None else amount)
            if debit:
                rows.append(row(moved or f, "dispute_debit", "out", debit, name))
                rows.append(row(f, "dispute_credit", "in", debit, name))
    if not any(r.movement == "dispute_debit" for r in rows):  # a reversal is the chargeback's money
        rows += [row(f, "dispute_debit", "out", f.amount or 0, name) for name, f in state.reversals.items()
                 if f.status == PaymentStatus.REFUND_SUCCEEDED and f.amount]
    rows += _fee_rows(record, webhooks)
    return sorted(rows, key=lambda r: (r.time, _ORDER[r.movement], r.reference))


def _fee_rows(record: PaymentRecord, webhooks: dict[Any, Any]) -> list[Movement]:
    rows: list[Movement] = []
    for name, fact in record.state.fee_totals.facts:
        if not fact.fee:
            continue
        what, _, movement = name.partition(":")
        given_back = what == FEE_REFUND
        rows.append(Movement(
            fact.occurred_at, record.key, record.source, record.state.account, fact.currency, "fee",
            "in" if given_back else "out", fact.fee if given_back else -fact.fee,
            movement or record.payment_id, webhooks.get(fact.event_id),
        ))
    return rows
