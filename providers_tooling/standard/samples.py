"""Standard Webhooks samples: ``{type, timestamp, data}``; the event id travels in ``webhook-id``."""

from __future__ import annotations

import string

from providers_tooling.samples import (
    ALNUM,
    Context,
    Document,
    Sample,
    random_id,
)


def new_payment_id() -> str:
    return "pay_" + random_id(ALNUM, 24)


def _standard(event_type: str):
    def build(ctx: Context) -> tuple[Document, str]:
        event_id = ctx.event_id(lambda: "msg_" + random_id(ALNUM, 27))
        payment = ctx.payment_id
        base = {"amount": ctx.amount, "currency": ctx.currency, "created_at": ctx.iso()}
        data: Document
        if event_type == "payment.succeeded":
            data = {"object": "payment", "id": payment, "status": "succeeded", **base}
        elif event_type == "payment.failed":
            data = {"object": "payment", "id": payment, "status": "failed", "failure_code": "card_declined",
                    "failure_message": "The card was declined.", **base}
        elif event_type == "refund.succeeded":
            data = {"object": "refund", "id": "re_" + ctx.derive("refund", ALNUM, 24), "payment_id": payment,
                    "status": "succeeded", "reason": "requested_by_customer", **base}
        else:
            data = {"object": "dispute", "id": "dp_" + ctx.derive("dispute", ALNUM, 24), "payment_id": payment,
                    "status": "needs_response", "reason": "fraudulent", "evidence_due_by": ctx.iso(7 * 86400),
                    **base}
        data["metadata"] = {"order_id": "order_" + ctx.derive("order", string.digits, 8)}
        return {"type": event_type, "timestamp": ctx.iso(), "data": data}, event_id

    return build


SAMPLES: list[Sample] = [
    Sample("standard", "payment.succeeded", "payment.succeeded", "payment succeeded", _standard("payment.succeeded")),
    Sample("standard", "payment.failed", "payment.failed", "payment failed", _standard("payment.failed")),
    Sample("standard", "refund.succeeded", "refund.succeeded", "a refund succeeded", _standard("refund.succeeded")),
    Sample("standard", "dispute.created", "dispute.created", "a dispute was opened", _standard("dispute.created")),
]
