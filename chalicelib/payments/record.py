"""A payment record: the folded state of one payment, its bounded history, and its DynamoDB item.

Payment records share the webhook table (one table, one stream, one backup story). Their key is
``payment#<source>:<payment id>`` and ``itemType`` is ``payment``, so nothing that reads
webhook records (the outbox, ``WebhookStore.get``, the audit) mistakes one for a
webhook. An *alias* item (``itemType`` ``payment-alias``) stands under another key of the same
payment (of the same source) and names the record's key in ``aliasOf``.

Keyed by source, one source's signer cannot touch another source's payment with the same id.
Records written before that were keyed ``payment#<provider>:<payment id>`` and have no
``source`` attribute (:attr:`PaymentRecord.legacy`): the default source of a provider bears the
provider's name, so for it the two keys are the same item; see docs/PAYMENTS.md for the others.

The item repeats the derived fields (status, amounts) at the top level for people and for the
audit stream; ``state`` (the facts) and ``history`` are JSON text, read and written whole: the
record is only ever replaced under a ``version`` condition, never patched.

When the item would cost more than one write unit (1 KB; a typical record is 1.0-1.3 KB, two
thirds of it ``state`` and ``history``), those two are written instead as one zlib blob,
``document``, compressed with the frozen payments dictionary (``documentEncoding``
``zlib-dict:payments-1``; docs/PERFORMANCE.md, "Item sizes"): a record then costs one unit per
write instead of two. Nothing queries or exports them but through :meth:`PaymentRecord.from_item`;
the top-level attributes stay plain either way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any

from chalicelib.errors import ProcessingError
from chalicelib.payments import money
from chalicelib.payments.keys import ALIAS_ITEM_TYPE, KEY_PREFIX, PAYMENT_ITEM_TYPE, item_key
from chalicelib.payments.model import PaymentEvent, split_payment_key
from chalicelib.payments.state import PaymentState
from chalicelib.webhooks import dictionaries
from chalicelib.webhooks.encoding import WRITE_UNIT_BYTES, item_size

__all__ = [
    "ALIAS_ITEM_TYPE", "HISTORY_LIMIT", "KEY_PREFIX", "PAYMENT_ITEM_TYPE", "PaymentRecord",
    "alias_item", "alias_target", "item_key", "item_type",
]

HISTORY_LIMIT = 20
DOCUMENT_DICTIONARY = "payments-1"
"""The frozen dictionary new records' ``document`` is compressed with (built by
``python -m providers_tooling.dictionaries --write payments`` from the corpus folded into records)."""
DOCUMENT_ENCODING_PREFIX = "zlib-dict:"


def item_type(item: dict[str, Any]) -> str:
    return str(item.get("itemType", {}).get("S", ""))


def alias_target(item: dict[str, Any]) -> str | None:
    """The payment key an alias item points at, or None for any other item."""
    if item_type(item) != ALIAS_ITEM_TYPE:
        return None
    return item.get("aliasOf", {}).get("S") or None


def alias_item(alias_key: str, target_key: str, now: str) -> dict[str, Any]:
    source, _ = split_payment_key(alias_key)
    if split_payment_key(target_key)[0] != source:
        raise ValueError("an alias links two keys of one source")
    return {
        "pk": {"S": item_key(alias_key)},
        "itemType": {"S": ALIAS_ITEM_TYPE},
        "paymentKey": {"S": alias_key},
        "source": {"S": source},
        "aliasOf": {"S": target_key},
        "createdAt": {"S": now},
    }


def _compact(document: Any) -> str:
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def packed_document(record: PaymentRecord) -> str:
    """The JSON text a record's ``document`` holds compressed: its ``state`` and ``history``."""
    return _compact({"history": list(record.history), "state": record.state.to_json()})


def _pack(item: dict[str, Any], record: PaymentRecord) -> None:
    """Replace ``state`` and ``history`` by the compressed ``document`` when that saves a write unit."""
    size = item_size(item)
    if size <= WRITE_UNIT_BYTES:
        return  # one unit already: compressing would cost CPU and save nothing
    encoding = DOCUMENT_ENCODING_PREFIX + DOCUMENT_DICTIONARY
    packed = dictionaries.compress(packed_document(record).encode(), DOCUMENT_DICTIONARY)
    plain = item_size({"state": item["state"], "history": item["history"]})
    if len("document") + len(packed) + len("documentEncoding") + len(encoding) >= plain:
        return
    del item["state"], item["history"]
    item["document"] = {"B": packed}
    item["documentEncoding"] = {"S": encoding}


def _unpacked(item: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``state`` and ``history`` of a stored item, plain or packed; ValueError for an unknown encoding."""
    encoding = item.get("documentEncoding", {}).get("S")
    if encoding is None:
        return json.loads(item.get("state", {}).get("S") or "{}"), json.loads(item.get("history", {}).get("S") or "[]")
    if not encoding.startswith(DOCUMENT_ENCODING_PREFIX):
        raise ValueError(f"unknown documentEncoding {encoding!r}")
    dictionary = encoding.removeprefix(DOCUMENT_ENCODING_PREFIX)
    document = json.loads(dictionaries.decompress(bytes(item["document"]["B"]), dictionary))
    return document["state"], document["history"]


@dataclass(frozen=True)
class PaymentRecord:
    key: str
    """``source:payment id``; the source is also stored on its own (``source``)."""
    provider: str
    state: PaymentState
    history: tuple[dict[str, Any], ...] = ()
    version: int = 0
    """0 for a record not stored yet; each stored write increments it."""
    created_at: str = ""
    updated_at: str = ""
    legacy: bool = False
    """Read from an item written before records were keyed by source (it has no ``source``)."""

    @classmethod
    def new(cls, key: str, provider: str) -> PaymentRecord:
        split_payment_key(key)
        return cls(key=key, provider=provider, state=PaymentState())

    @property
    def source(self) -> str:
        return split_payment_key(self.key)[0]

    @property
    def payment_id(self) -> str:
        return split_payment_key(self.key)[1]

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
            legacy=False,  # the write stamps the source
        )

    def apply(self, event: PaymentEvent, now: str) -> PaymentRecord | None:
        """The record with ``event`` folded in and a history line; None if already applied.

        A fact that loses to what is known (a late ``processing`` after ``succeeded``) is still
        recorded in the history, with ``changed`` false.
        """
        if event.source != self.source or event.provider != self.provider:
            # The store only ever resolves an event to its own source's records; a source whose
            # provider was changed in its configuration must not fold one provider into another.
            raise ProcessingError("the payment record belongs to another source or provider")
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
        if event.capture_id is not None:
            entry["captureId"] = event.capture_id
        if event.reason is not None:
            entry["reason"] = event.reason
        return self._next(state, (entry,), now)

    def absorb(self, other: PaymentRecord, now: str) -> PaymentRecord | None:
        """The record with ``other``'s facts and history joined in; None if it adds nothing."""
        if other.provider != self.provider:
            raise ProcessingError("payment records of two providers cannot be joined")
        state = self.state.merge(other.state)
        if state.facts() == self.state.facts():
            return None
        known = {entry.get("eventId") for entry in self.history}
        entries = tuple(e for e in other.history if e.get("eventId") not in known)
        merged = tuple(sorted((*self.history, *entries), key=lambda e: str(e.get("appliedAt", ""))))
        return replace(self._next(state, (), now), history=merged[-HISTORY_LIMIT:])

    # -- DynamoDB --------------------------------------------------------------------------------

    def to_item(self) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": {"S": item_key(self.key)},
            "itemType": {"S": PAYMENT_ITEM_TYPE},
            "paymentKey": {"S": self.key},
            "source": {"S": self.source},
            "provider": {"S": self.provider},
            "providerPaymentId": {"S": self.payment_id},
            "status": {"S": self.state.status},
            "refundedAmount": {"N": str(self.state.refunded_amount)},
            # The amounts by kind at the top level, for people reading the table and the audit stream.
            **{f"{kind}Amount": {"N": str(value)} for kind, value in self.state.amounts.to_json().items()
               if kind != "refunded"},
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
        if self.state.livemode is not None:
            item["livemode"] = {"BOOL": self.state.livemode}
        if self.state.account is not None:
            item["account"] = {"S": self.state.account}
        _pack(item, self)
        return item

    def snapshot(self) -> dict[str, Any]:
        """The payment as a published PaymentEvent (schema v2) carries it: what the fold derived,
        so consumers need not re-implement it."""
        return {
            "paymentKey": self.key,
            "status": self.state.status,
            "currency": self.state.currency.upper() if self.state.currency else None,
            "amounts": self.state.amounts.to_json(),
            "livemode": self.state.livemode,
            "account": self.state.account,
            "version": self.version,
            # only when known: a payment without them publishes the snapshot it did before them
            **{name: value for name, value in self._ledger_details().items() if value not in (None, {})},
        }

    def _ledger_details(self) -> dict[str, Any]:
        """The fee currency, the merchant's references and the latest reason (issue #13)."""
        state = self.state
        reason = state.last_reason
        return {
            "feeCurrency": state.amounts.fee_currency,
            "references": dict(state.references),
            "lastReason": (
                {"reason": reason.reason, "kind": reason.kind, "status": reason.status,
                 "occurredAt": reason.occurred_at}
                if reason is not None else None
            ),
        }

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> PaymentRecord:
        def text(name: str) -> str:
            return str(item.get(name, {}).get("S", ""))

        key = text("paymentKey")
        state, history = _unpacked(item)
        return cls(
            key=key,
            # Every record has stored its provider; a legacy one's key is provider-scoped anyway.
            provider=text("provider") or split_payment_key(key)[0],
            state=PaymentState.from_json(state),
            history=tuple(history),
            version=int(item.get("version", {}).get("N", "0")),
            created_at=text("createdAt"),
            updated_at=text("updatedAt"),
            legacy="source" not in item,
        )

    # -- the operator's view ---------------------------------------------------------------------

    def view(self) -> dict[str, Any]:
        """A JSON-able view for ``ops payment`` (amounts in minor units and as decimal text)."""
        state = self.state

        def display(amount: int | None, currency: str | None = state.currency) -> str | None:
            if amount is None or currency is None:
                return None
            return money.format_minor_units(amount, currency)

        amounts = state.amounts
        fee_kinds = {"fee", "net"}

        return {
            "paymentKey": self.key,
            "source": self.source,
            "provider": self.provider,
            "providerPaymentId": self.payment_id,
            "legacyRecord": self.legacy,
            "status": state.status,
            "amount": state.amount,
            "currency": state.currency.upper() if state.currency else None,
            "amounts": state.amounts.to_json(),
            "amountsDisplay": {
                kind: display(value, amounts.fee_currency if kind in fee_kinds else state.currency)
                for kind, value in amounts.to_json().items()
            },
            "livemode": state.livemode,
            "account": state.account,
            "amountDisplay": display(state.amount),
            "refundedAmount": state.refunded_amount,
            "refundedDisplay": display(state.refunded_amount),
            "lifecycleStatus": state.lifecycle.status if state.lifecycle else None,
            "refunds": [
                {"refundId": name, "status": f.status, "amount": f.amount, "occurredAt": f.occurred_at}
                for name, f in sorted(state.refunds.items())
            ],
            "captures": [
                {"captureId": name, "status": f.status, "amount": f.amount, "occurredAt": f.occurred_at}
                for name, f in sorted(state.captures.items())
            ],
            "disputes": [
                {"disputeId": name, "status": f.status, "amount": f.amount, "inquiry": f.inquiry,
                 "occurredAt": f.occurred_at}
                for name, f in sorted(state.disputes.items())
            ],
            "reversals": [
                {"reversalId": name, "status": f.status, "amount": f.amount, "occurredAt": f.occurred_at}
                for name, f in sorted(state.reversals.items())
            ],
            "fees": [
                {"movement": name, **{k: v for k, v in f.to_json().items() if k != "eventId"},
                 "feeDisplay": display(f.fee, f.currency), "netDisplay": display(f.net, f.currency)}
                for name, f in sorted(state.fees.items())
            ],
            **self._ledger_details(),
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
