"""The normalized payment event (schema v2) and the canonical vocabulary every provider maps to.

A :class:`PaymentEvent` is a pure function of one stored webhook record: normalizing the same
record twice gives the same event, byte for byte once serialized. That is what makes the
published message safe to send again (a retry, a replay): its ``eventId`` is derived from the
webhookId, which is itself derived from (source, provider event id), so consumers dedupe on it.

The JSON form is documented by ``docs/payment-event.v2.schema.json`` (``v1`` is kept for the
record). Version policy: adding an optional field keeps ``schemaVersion``; renaming, removing or
changing the meaning of a field is a new version. Version "2" (issue #13) keeps every v1 field
with its meaning and adds the ledger fields and the ``payment`` snapshot, whose meaning ("the
record after this event") is new: see docs/PAYMENTS.md. The fee, net, settlement, references and
reason fields came later within version 2: they are optional (a v2 document written before them
lacks them) and additive.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ProcessingError
from chalicelib.payments import details, money

if TYPE_CHECKING:
    from chalicelib.webhooks.record import WebhookRecord

SCHEMA_VERSION = "2"
EVENT_ID_NAMESPACE = "payment-event/v1"
"""What event ids are derived under. It does not follow SCHEMA_VERSION: an event published as v1
and again as v2 (a replay after the upgrade) must keep its id, or consumers would count it twice."""


class EventKind(StrEnum):
    """What an event is about."""

    PAYMENT = "payment"
    REFUND = "refund"
    DISPUTE = "dispute"


class PaymentStatus(StrEnum):
    """The payment vocabulary: the status an event reports (of the payment, of the refund, of the
    dispute: :data:`EVENT_STATUSES`), and the status of a payment record, which
    chalicelib.payments.state derives and no event reports as such (``partially_refunded``,
    ``refunded``, ``disputed``). Not to be confused with a webhook record's status
    (:class:`chalicelib.webhooks.record.WebhookStatus`)."""

    PENDING = "pending"
    REQUIRES_ACTION = "requires_action"
    AUTHORIZED = "authorized"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    REFUND_PENDING = "refund_pending"
    REFUND_SUCCEEDED = "refund_succeeded"
    REFUND_FAILED = "refund_failed"
    DISPUTE_OPEN = "dispute_open"
    DISPUTE_WON = "dispute_won"
    DISPUTE_LOST = "dispute_lost"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    DISPUTED = "disputed"


EVENT_STATUSES: dict[str, frozenset[str]] = {
    EventKind.PAYMENT: frozenset({
        PaymentStatus.PENDING, PaymentStatus.REQUIRES_ACTION, PaymentStatus.AUTHORIZED, PaymentStatus.SUCCEEDED,
        PaymentStatus.FAILED, PaymentStatus.CANCELED,
    }),
    EventKind.REFUND: frozenset({
        PaymentStatus.REFUND_PENDING, PaymentStatus.REFUND_SUCCEEDED, PaymentStatus.REFUND_FAILED,
    }),
    EventKind.DISPUTE: frozenset({PaymentStatus.DISPUTE_OPEN, PaymentStatus.DISPUTE_WON, PaymentStatus.DISPUTE_LOST}),
}

PAYMENT_STATUSES = frozenset(EVENT_STATUSES[EventKind.PAYMENT] | {
    PaymentStatus.PARTIALLY_REFUNDED, PaymentStatus.REFUNDED, PaymentStatus.DISPUTED, PaymentStatus.DISPUTE_WON,
    PaymentStatus.DISPUTE_LOST,
})
"""The statuses a payment record can have (derived by chalicelib.payments.state)."""

_MAX_ID_LENGTH = 255


def event_id_for(webhook_id: str) -> str:
    """The PaymentEvent id of a webhook: stable across provider retries, SQS redeliveries and
    replays, because the webhookId is (one webhook record yields at most one PaymentEvent)."""
    digest = hashlib.sha256(f"{EVENT_ID_NAMESPACE}\n{webhook_id}".encode()).digest()
    return "pe_" + base64.b32encode(digest).decode().lower()[:26]


def payment_key(scope: str, provider_payment_id: str) -> str:
    """``scope:payment id``. The identity of a payment record is scoped by *source*
    (``stripe-eu:pi_...``, :meth:`PaymentEvent.payment_key`): a source's signer can then only
    reach its own payments, never those of another source of the same provider (two Stripe
    accounts, a test-mode endpoint, two Standard Webhooks senders whose ids collide). Scoped by
    *provider* (``stripe:pi_...``) it is the v1 ``paymentKey`` a PaymentEvent publishes and the
    key of records written before payments were keyed by source (see docs/PAYMENTS.md).

    The default source of a provider has the provider's name, so its record keys did not change.
    """
    return f"{scope}:{provider_payment_id}"


def split_payment_key(key: str) -> tuple[str, str]:
    """(scope, payment id) of a key. Source and provider names have no ``:``; payment ids may."""
    scope, sep, payment_id = key.partition(":")
    if not sep or not scope or not payment_id:
        raise ValueError("a payment key is SOURCE:PAYMENT_ID")
    return scope, payment_id


def _require_id(value: object, what: str) -> str:
    if not isinstance(value, str) or not value or len(value) > _MAX_ID_LENGTH:
        raise ProcessingError(f"the event has no usable {what}")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ProcessingError(f"the event's {what} has unexpected characters")
    return value


def _check_amount(value: int | None, what: str) -> None:
    if value is None:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ProcessingError(f"the event's {what} is not a non-negative integer")


@dataclass(frozen=True)
class PaymentEvent:
    """One provider event about a payment, in the canonical vocabulary.

    ``amount`` is the payment's amount as this event states it (captured amount when there is
    one), ``refund_amount`` the amount of the refund ``refund_id``, and ``refunded_total`` the
    provider's own running total of refunds when it reports one (Stripe ``amount_refunded``,
    Square ``refunded_money``). All amounts are ISO 4217 minor units of ``currency``.
    ``related_payment_keys`` are other keys of the same payment (a PayPal capture id when the
    payment is keyed by its order), so that events naming only those land on this payment. They
    are provider-scoped (``paypal:CAPTURE``, what the normalizers build and v1 publishes); the
    store links them within the event's source (:attr:`related_record_keys`).
    """

    event_id: str
    webhook_id: str
    source: str
    provider: str
    provider_event_id: str
    provider_event_type: str
    provider_payment_id: str
    kind: str
    status: str
    occurred_at: str
    received_at: str
    amount: int | None = None
    currency: str | None = None
    refund_id: str | None = None
    refund_amount: int | None = None
    refunded_total: int | None = None
    dispute_id: str | None = None
    related_payment_keys: tuple[str, ...] = field(default=())
    capture_id: str | None = None
    """The capture a payment event reports (Stripe charge, PayPal capture, Adyen CAPTURE
    ``pspReference``): captures are summed per id, and a later failure or reversal of the same id
    undoes it. None when the event is not about one capture."""
    dispute_amount: int | None = None
    """The amount a dispute event puts at stake (the chargeback's amount), when it states one."""
    dispute_inquiry: bool = False
    """The dispute is an inquiry (Stripe ``warning_*``): no funds move, it is not a chargeback."""
    reversal: bool = False
    """A refund-shaped event that is the provider taking the money back (PayPal
    ``PAYMENT.CAPTURE.REVERSED``, after a chargeback): booked with the disputes, never as a refund."""
    livemode: bool | None = None
    """False for a provider's test mode, True for live money, None when the payload does not say."""
    account: str | None = None
    """The provider account the payment belongs to (Stripe ``account``, Adyen merchant account)."""
    fee: int | None = None
    """The provider's fee on what this event reports (a capture, a payment), or the fee it gives
    back with a refund, in minor units of :attr:`fee_currency`; None when the payload does not
    state it (never estimated)."""
    net: int | None = None
    """What the merchant nets (a capture: gross minus fee; a refund: what it paid out), in
    :attr:`fee_currency`."""
    fee_currency: str | None = None
    """The currency of ``fee`` and ``net`` (set whenever either is)."""
    settlement_amount: int | None = None
    """The movement in the merchant's settlement currency, when the provider converted it."""
    settlement_currency: str | None = None
    exchange_rate: str | None = None
    """The provider's conversion rate to the settlement currency, as decimal text."""
    references: tuple[tuple[str, str], ...] = field(default=())
    """The merchant's references the payload carries (``merchantReference``, ``orderId``, ...),
    sorted (name, value) pairs, at most :data:`~chalicelib.payments.details.MAX_REFERENCES`."""
    reason: str | None = None
    """Why: a failure's code and message, a refund's or a dispute's reason (one bounded line)."""
    payment: Mapping[str, Any] | None = field(default=None, compare=False)
    """The payment record after this event (:meth:`PaymentRecord.snapshot`), set once the event is
    applied; not part of the event's identity (``compare=False``)."""

    def __post_init__(self) -> None:
        _require_id(self.provider_payment_id, "payment id")
        if self.kind not in EVENT_STATUSES:
            raise ProcessingError("the event has an unknown kind")
        if self.status not in EVENT_STATUSES[self.kind]:
            raise ProcessingError("the event's status does not fit its kind")
        for what, value in (
            ("amount", self.amount),
            ("refund amount", self.refund_amount),
            ("refunded total", self.refunded_total),
            ("dispute amount", self.dispute_amount),
            ("fee", self.fee),
            ("net", self.net),
            ("settlement amount", self.settlement_amount),
        ):
            _check_amount(value, what)
        has_amount = any(
            v is not None for v in (self.amount, self.refund_amount, self.refunded_total, self.dispute_amount)
        )
        if self.currency is not None:
            money.currency_code(self.currency)
        elif has_amount:
            raise ProcessingError("the event has an amount without a currency")
        if self.refund_id is not None:
            _require_id(self.refund_id, "refund id")
            if self.refund_amount is None:
                raise ProcessingError("the event has a refund id without a refund amount")
        if self.dispute_id is not None:
            _require_id(self.dispute_id, "dispute id")
        if self.capture_id is not None:
            _require_id(self.capture_id, "capture id")
            if self.kind != EventKind.PAYMENT:
                raise ProcessingError("the event has a capture id but is not a payment event")
        if self.reversal and (self.kind != EventKind.REFUND or self.refund_id is None):
            raise ProcessingError("a reversal is a refund-shaped event with its own id")
        if self.account is not None:
            _require_id(self.account, "account")
        self._check_ledger_details()
        for related in self.related_payment_keys:
            # A related key of another provider would be linked into this source's payments
            # under a name that is not this provider's: refuse it rather than guess.
            if split_payment_key(related)[0] != self.provider:
                raise ProcessingError("the event names a related payment of another provider")

    def _check_ledger_details(self) -> None:
        if self.fee_currency is not None:
            money.currency_code(self.fee_currency)
        elif self.fee is not None or self.net is not None:
            raise ProcessingError("the event has a fee or net without its currency")
        if (self.settlement_amount is None) != (self.settlement_currency is None):
            raise ProcessingError("the event has a settlement amount without its currency, or the reverse")
        if self.settlement_currency is not None:
            money.currency_code(self.settlement_currency)
        if self.exchange_rate is not None and not details.EXCHANGE_RATE.fullmatch(self.exchange_rate):
            raise ProcessingError("the event's exchange rate is not decimal text")
        details.check_references(self.references)
        details.check_reason(self.reason)

    @property
    def payment_key(self) -> str:
        """The identity of the payment record: ``source:payment id``."""
        return payment_key(self.source, self.provider_payment_id)

    @property
    def provider_payment_key(self) -> str:
        """``provider:payment id``: schema v1's ``paymentKey``, unique per provider account only."""
        return payment_key(self.provider, self.provider_payment_id)

    @property
    def related_record_keys(self) -> tuple[str, ...]:
        """:attr:`related_payment_keys` as record keys of this event's source."""
        return tuple(payment_key(self.source, split_payment_key(key)[1]) for key in self.related_payment_keys)

    @classmethod
    def from_webhook(cls, webhook: WebhookRecord, **fields: Any) -> PaymentEvent:
        """An event of ``webhook`` (ids, source, provider, type and receive time come from it)."""
        return cls(
            event_id=event_id_for(webhook.webhook_id),
            webhook_id=webhook.webhook_id,
            source=webhook.source,
            provider=webhook.provider,
            provider_event_id=webhook.event_id,
            provider_event_type=webhook.event_type,
            received_at=webhook.received_at,
            **fields,
        )

    def keyed_as(self, key: str) -> PaymentEvent:
        """This event attached to the payment record ``key`` (an alias resolved by the payment
        store, always within the event's source).

        The key the provider named is kept in ``related_payment_keys``.
        """
        if key == self.payment_key:
            return self
        source, payment_id = split_payment_key(key)
        if source != self.source:
            raise ProcessingError("the event was resolved to a payment of another source")
        target = payment_key(self.provider, payment_id)
        related = tuple(sorted({*self.related_payment_keys, self.provider_payment_key} - {target}))
        return replace(self, provider_payment_id=payment_id, related_payment_keys=related)

    def to_json(self) -> dict[str, Any]:
        """The published form (schema v2): camelCase, every field present, absent ones null."""
        return {
            "schemaVersion": SCHEMA_VERSION,
            "eventId": self.event_id,
            "webhookId": self.webhook_id,
            "source": self.source,
            "provider": self.provider,
            "providerEventId": self.provider_event_id,
            "providerEventType": self.provider_event_type,
            "paymentKey": self.provider_payment_key,
            "sourcePaymentKey": self.payment_key,
            "providerPaymentId": self.provider_payment_id,
            "relatedPaymentKeys": list(self.related_payment_keys),
            "kind": self.kind,
            "status": self.status,
            "amount": self.amount,
            "currency": self.currency,
            "refundId": self.refund_id,
            "refundAmount": self.refund_amount,
            "refundedTotal": self.refunded_total,
            "disputeId": self.dispute_id,
            "occurredAt": self.occurred_at,
            "receivedAt": self.received_at,
            "captureId": self.capture_id,
            "disputeAmount": self.dispute_amount,
            "disputeInquiry": self.dispute_inquiry,
            "reversal": self.reversal,
            "livemode": self.livemode,
            "account": self.account,
            "fee": self.fee,
            "net": self.net,
            "feeCurrency": self.fee_currency,
            "settlementAmount": self.settlement_amount,
            "settlementCurrency": self.settlement_currency,
            "exchangeRate": self.exchange_rate,
            "references": dict(self.references),
            "reason": self.reason,
            "payment": dict(self.payment) if self.payment is not None else None,
        }

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> PaymentEvent:
        """The event of a published document (``sourcePaymentKey`` is derived, so not read)."""
        return cls(
            event_id=document["eventId"],
            webhook_id=document["webhookId"],
            source=document["source"],
            provider=document["provider"],
            provider_event_id=document["providerEventId"],
            provider_event_type=document["providerEventType"],
            provider_payment_id=document["providerPaymentId"],
            kind=document["kind"],
            status=document["status"],
            occurred_at=document["occurredAt"],
            received_at=document["receivedAt"],
            amount=document.get("amount"),
            currency=document.get("currency"),
            refund_id=document.get("refundId"),
            refund_amount=document.get("refundAmount"),
            refunded_total=document.get("refundedTotal"),
            dispute_id=document.get("disputeId"),
            related_payment_keys=tuple(document.get("relatedPaymentKeys") or ()),
            capture_id=document.get("captureId"),
            dispute_amount=document.get("disputeAmount"),
            dispute_inquiry=bool(document.get("disputeInquiry", False)),
            reversal=bool(document.get("reversal", False)),
            livemode=document.get("livemode"),
            account=document.get("account"),
            fee=document.get("fee"),
            net=document.get("net"),
            fee_currency=document.get("feeCurrency"),
            settlement_amount=document.get("settlementAmount"),
            settlement_currency=document.get("settlementCurrency"),
            exchange_rate=document.get("exchangeRate"),
            references=tuple(sorted((document.get("references") or {}).items())),
            reason=document.get("reason"),
            payment=document.get("payment"),
        )
