"""Razorpay samples: ``{entity: "event", account_id, event, contains, payload: {<entity>: {entity}}, created_at}``.

The shape follows Razorpay's webhook payloads and the official SDK's fixture (razorpay-python
``tests/mocks/fake_payment_authorized_webhook.json``, copied in ``tests/fixtures/razorpay/``);
the refund entity follows the SDK's ``tests/mocks/fake_refund.json``. Amounts are integers in the
smallest currency unit (paise). The event id travels in the ``x-razorpay-event-id`` header: the
samples make one of 14 letters and digits (its exact format is not documented in the SDK).
"""

from __future__ import annotations

import string

from providers_tooling.samples import ALNUM, Context, Document, Sample, random_id

ACCOUNT_ID = "acc_BFQ7uQEaa7j2z7"


def new_payment_id() -> str:
    return "pay_" + random_id(ALNUM, 14)


def _payment(ctx: Context, status: str) -> Document:
    payment: Document = {
        "id": ctx.payment_id,
        "entity": "payment",
        "amount": ctx.amount,
        "currency": ctx.currency,
        "status": status,
        "order_id": "order_" + ctx.derive("order", ALNUM, 14),
        "invoice_id": None,
        "international": False,
        "method": "card",
        "amount_refunded": 0,
        "refund_status": None,
        "captured": status == "captured",
        "description": "Order #" + ctx.derive("receipt", string.digits, 6),
        "card_id": "card_" + ctx.derive("card", ALNUM, 14),
        "bank": None,
        "wallet": None,
        "vpa": None,
        "email": "gaurav.kumar@example.com",
        "contact": "+919000090000",
        "notes": {"merchant_order_id": ctx.derive("order", string.digits, 8)},
        "fee": None,
        "tax": None,
        "error_code": None,
        "error_description": None,
        "created_at": ctx.unix(-60),
    }
    if status == "failed":
        payment.update(error_code="BAD_REQUEST_ERROR", error_description="Payment failed due to insufficient balance")
    return payment


def _refund(ctx: Context, status: str) -> Document:
    return {
        "id": "rfnd_" + ctx.derive("refund", ALNUM, 14),
        "entity": "refund",
        "amount": ctx.amount,
        "currency": ctx.currency,
        "payment_id": ctx.payment_id,
        "notes": {},
        "receipt": None,
        "acquirer_data": {"arn": None},
        "created_at": ctx.unix(),
        "status": status,
        "speed_processed": "normal",
        "speed_requested": "normal",
    }


def _dispute(ctx: Context, status: str) -> Document:
    return {
        "id": "disp_" + ctx.derive("dispute", ALNUM, 14),
        "entity": "dispute",
        "payment_id": ctx.payment_id,
        "amount": ctx.amount,
        "currency": ctx.currency,
        "amount_deducted": ctx.amount if status == "lost" else 0,
        "reason_code": "chargeback",
        "respond_by": ctx.unix(7 * 86400),
        "status": status,
        "phase": "chargeback",
        "created_at": ctx.unix(),
    }


def _payload(entities: dict[str, Document]) -> tuple[Document, list[str]]:
    return {name: {"entity": entity} for name, entity in entities.items()}, list(entities)


def _sample(event_type: str, description: str) -> Sample:
    def build(ctx: Context) -> tuple[Document, str]:
        event_id = ctx.event_id(lambda: random_id(ALNUM, 14))
        if event_type.startswith("payment.dispute."):
            status = event_type.rsplit(".", 1)[1].replace("created", "open").replace("action_required", "open")
            entities = {"payment": _payment(ctx, "captured"), "dispute": _dispute(ctx, status)}
        elif event_type.startswith("refund."):
            status = {"refund.created": "pending", "refund.processed": "processed",
                      "refund.failed": "failed"}[event_type]
            entities = {"refund": _refund(ctx, status), "payment": _payment(ctx, "captured")}
        else:
            entities = {"payment": _payment(ctx, event_type.split(".", 1)[1])}
        payload, contains = _payload(entities)
        document = {"entity": "event", "account_id": ACCOUNT_ID, "event": event_type, "contains": contains,
                    "payload": payload, "created_at": ctx.unix()}
        return document, event_id

    return Sample("razorpay", event_type, event_type, description, build)


SAMPLES: list[Sample] = [
    _sample("payment.authorized", "a payment was authorized"),
    _sample("payment.captured", "the payment was captured (succeeded)"),
    _sample("payment.failed", "the payment failed"),
    _sample("refund.created", "a refund was created"),
    _sample("refund.processed", "the refund was processed"),
    _sample("refund.failed", "the refund failed"),
    _sample("payment.dispute.created", "a dispute was opened"),
    _sample("payment.dispute.won", "the dispute was won"),
    _sample("payment.dispute.lost", "the dispute was lost"),
]
