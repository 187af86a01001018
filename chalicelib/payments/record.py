"""A payment record: the folded state of one payment, its bounded history, and its DynamoDB item.

Payment records share the webhook table (one table, one stream, one backup story). Their key is
``payment#<provider>:<payment id>`` and ``itemType`` is ``payment``, so nothing that reads
webhook records (the sweeper's index, ``WebhookStore.get``, the audit) mistakes one for a
webhook. An *alias* item (``itemType`` ``payment-alias``) stands under another key of the same
payment and names the record's key in ``aliasOf``.

The item repeats the derived fields (status, amounts) at the top level for people and for the
audit stream; ``state`` (the facts) and ``history`` are JSON text, read and written whole: the
record is only ever replaced under a ``version`` condition, never patched.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.payments import money
from chalicelib.payments.keys import ALIAS_ITEM_TYPE, KEY_PREFIX, PAYMENT_ITEM_TYPE, item_key
from chalicelib.payments.model import PaymentEvent, split_payment_key
from chalicelib.payments.state import PaymentState

__all__ = [
    "ALIAS_ITEM_TYPE", "HISTORY_LIMIT", "KEY_PREFIX", "PAYMENT_ITEM_TYPE", "PaymentRecord",
    "alias_item", "alias_target", "item_key", "item_type",
]

HISTORY_LIMIT = 20


def item_type(item: dict[str, Any]) -> str:
    value: str = item.get("itemType", {}).get("S", "")  # a DynamoDB string attribute
    return value


def alias_target(item: dict[str, Any]) -> str | None:
    """The payment key an alias item points at, or None for any other item."""
    if item_type(item) != ALIAS_ITEM_TYPE:
        return None
    return item.get("aliasOf", {}).get("S") or None


def alias_item(alias_key: str, target_key: str, now: str) -> dict[str, Any]:
    return {
        "pk": {"S": item_key(alias_key)},
        "itemType": {"S": ALIAS_ITEM_TYPE},
        "paymentKey": {"S": alias_key},
        "aliasOf": {"S": target_key},
        "createdAt": {"S": now},
    }


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


@dataclass(frozen=True)
class PaymentRecord:
    key: str
    state: PaymentState
    history: tuple[dict[str, Any], ...] = ()
    version: int = 0
    """0 for a record not stored yet; each stored write increments it."""
    created_at: str = ""
    updated_at: str = ""

    @classmethod
    def new(cls, key: str) -> PaymentRecord:
        split_payment_key(key)
        return cls(key=key, state=PaymentState())

    @property
    def status(self) -> str:
        return self.state.status

    def _next(
        self, state: PaymentState, entries: tuple[dict[str, Any], ...], now: str
    ) -> PaymentRecord:
        return replace(
            self,
            state=state,
            history=(*self.history, *entries)[-HISTORY_LIMIT:],
            version=self.version + 1,
            created_at=self.created_at or now,
            updated_at=now,
        )

    def apply(self, event: PaymentEvent, now: str) -> PaymentRecord | None:
        """The record with ``event`` folded in and a history line; None if already applied.

        A fact that loses to what is known (a late ``processing`` after ``succeeded``) is still
        recorded in the history, with ``changed`` false.
        """
        if self.state.has_applied(event.event_id):
            return None
        state = self.state.apply(event)
        changed = _without_applied(state) != _without_applied(self.state)
        entry = {
            "eventId": event.event_id,
            "webhookId": event.webhook_id,
            "providerEventType": event.provider_event_type,
            "kind": event.kind,
            "status": event.status,
            "occurredAt": event.occurred_at,
            "appliedAt": now,
            "paymentStatus": state.status,
            "changed": changed,
        }
        if event.refund_id is not None:
            entry["refundId"] = event.refund_id
        return self._next(state, (entry,), now)

    def absorb(self, other: PaymentRecord, now: str) -> PaymentRecord | None:
        """The record with ``other``'s facts and history joined in; None if it adds nothing."""
        state = self.state.merge(other.state)
        if state.facts() == self.state.facts():
            return None
        known = {entry.get("eventId") for entry in self.history}
        entries = tuple(e for e in other.history if e.get("eventId") not in known)
        merged = tuple(sorted((*self.history, *entries), key=lambda e: str(e.get("appliedAt", ""))))
        return replace(self._next(state, (), now), history=merged[-HISTORY_LIMIT:])

    # -- DynamoDB --------------------------------------------------------------------------------

    def to_item(self) -> dict[str, Any]:
        provider, payment_id = split_payment_key(self.key)
        item: dict[str, Any] = {
            "pk": {"S": item_key(self.key)},
            "itemType": {"S": PAYMENT_ITEM_TYPE},
            "paymentKey": {"S": self.key},
            "provider": {"S": provider},
            "providerPaymentId": {"S": payment_id},
            "status": {"S": self.state.status},
            "refundedAmount": {"N": str(self.state.refunded_amount)},
            "version": {"N": str(self.version)},
            "createdAt": {"S": self.created_at},
            "updatedAt": {"S": self.updated_at},
            "state": {"S": _compact(self.state.to_json())},
            "history": {"S": _compact(list(self.history))},
        }
        if self.state.amount is not None:
            item["amount"] = {"N": str(self.state.amount)}
        if self.state.currency is not None:
            item["currency"] = {"S": self.state.currency}
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> PaymentRecord:
        def text(name: str) -> str:
            value: str = item.get(name, {}).get("S", "")  # a DynamoDB string attribute
            return value

        return cls(
            key=text("paymentKey"),
            state=PaymentState.from_json(json.loads(text("state") or "{}")),
            history=tuple(json.loads(text("history") or "[]")),
            version=int(item.get("version", {}).get("N", "0")),
            created_at=text("createdAt"),
            updated_at=text("updatedAt"),
        )

    # -- the operator's view ---------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        """A JSON-able view for ``ops payment`` (amounts in minor units and as decimal text)."""
        state = self.state
        provider, payment_id = split_payment_key(self.key)

        def display(amount: int | None) -> str | None:
            if amount is None or state.currency is None:
                return None
            return money.format_minor_units(amount, state.currency)

        return {
            "paymentKey": self.key,
            "provider": provider,
            "providerPaymentId": payment_id,
            "status": state.status,
            "amount": state.amount,
            "currency": state.currency,
            "amountDisplay": display(state.amount),
            "refundedAmount": state.refunded_amount,
            "refundedDisplay": display(state.refunded_amount),
            "lifecycleStatus": state.lifecycle.status if state.lifecycle else None,
            "refunds": [
                {"refundId": name, "status": f.status, "amount": f.amount, "occurredAt": f.occurred_at}
                for name, f in sorted(state.refunds.items())
            ],
            "disputes": [
                {"disputeId": name, "status": f.status, "occurredAt": f.occurred_at}
                for name, f in sorted(state.disputes.items())
            ],
            "aliases": list(state.aliases),
            "appliedEvents": len(state.applied),
            "version": self.version,
            "createdAt": self.created_at,
            "updatedAt": self.updated_at,
            "history": list(self.history),
        }


def _without_applied(state: PaymentState) -> dict[str, Any]:
    document = state.to_json()
    document.pop("applied")
    return document
