"""Compact PaymentEvent factories for the state machine tests."""

from __future__ import annotations

from typing import TypedDict, Unpack

from chalicelib.payments.model import PaymentEvent, event_id_for


class Context(TypedDict, total=False):
    """Whose event it is: what tests spread over several events (``**PAYPAL``)."""

    currency: str | None
    refunded_total: int | None
    payment_id: str
    source: str
    provider: str


class Fields(Context, total=False):
    """The keywords of :func:`make` that :func:`payment`, :func:`refund` and :func:`dispute` pass through."""

    capture_id: str | None
    dispute_amount: int | None
    dispute_inquiry: bool
    reversal: bool


def at(second: int) -> str:
    """A provider time ``second`` seconds after 2024-02-15T12:00:00Z."""
    minutes, seconds = divmod(second, 60)
    hours, minutes = divmod(minutes, 60)
    return f"2024-02-15T{12 + hours:02d}:{minutes:02d}:{seconds:02d}.000Z"


def make(
    name: str,
    kind: str,
    status: str,
    second: int,
    *,
    amount: int | None = None,
    currency: str | None = "USD",
    refund_id: str | None = None,
    refund_amount: int | None = None,
    refunded_total: int | None = None,
    dispute_id: str | None = None,
    payment_id: str = "pi_1",
    source: str = "stripe",
    provider: str = "stripe",
    capture_id: str | None = None,
    dispute_amount: int | None = None,
    dispute_inquiry: bool = False,
    reversal: bool = False,
) -> PaymentEvent:
    webhook_id = f"wh_{name}"
    return PaymentEvent(
        event_id=event_id_for(webhook_id),
        webhook_id=webhook_id,
        source=source,
        provider=provider,
        provider_event_id=f"evt_{name}",
        provider_event_type=f"test.{kind}.{status}",
        provider_payment_id=payment_id,
        kind=kind,
        status=status,
        occurred_at=at(second),
        received_at=at(second + 1),
        amount=amount,
        currency=currency,
        refund_id=refund_id,
        refund_amount=refund_amount,
        refunded_total=refunded_total,
        dispute_id=dispute_id,
        capture_id=capture_id,
        dispute_amount=dispute_amount,
        dispute_inquiry=dispute_inquiry,
        reversal=reversal,
    )


def payment(name: str, status: str, second: int, amount: int | None = 2000, **kw: Unpack[Fields]) -> PaymentEvent:
    return make(name, "payment", status, second, amount=amount, **kw)


def refund(name: str, status: str, second: int, refund_id: str, amount: int, **kw: Unpack[Fields]) -> PaymentEvent:
    return make(name, "refund", status, second, refund_id=refund_id, refund_amount=amount, **kw)


def dispute(name: str, status: str, second: int, dispute_id: str = "dp_1", **kw: Unpack[Fields]) -> PaymentEvent:
    return make(name, "dispute", status, second, dispute_id=dispute_id, **kw)
