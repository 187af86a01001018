"""Square samples: ``{merchant_id, type, event_id, created_at, data: {type, id, object}}``.

Refunds and disputes carry the ``payment_id`` (``disputed_payment.payment_id``).
"""

from __future__ import annotations

import uuid

from providers_tooling.samples import (
    ALNUM,
    Context,
    Document,
    Sample,
    random_id,
)

SQUARE_MERCHANT_ID = "6SSW7HV8K2ST5"
SQUARE_LOCATION_ID = "S8GWD5R9QB376"


def new_payment_id() -> str:
    return random_id(ALNUM, 29)


def _square_ids(ctx: Context) -> dict[str, str]:
    return {
        "payment": ctx.payment_id,
        "order": ctx.derive("order", ALNUM, 29),
        "refund": f"{ctx.payment_id}_" + ctx.derive("refund", ALNUM, 43),
        "dispute": ctx.derive("dispute", ALNUM, 22),
        "brand_dispute": ctx.derive("brand-dispute", ALNUM, 22),
    }


def _square_event(
    ctx: Context, event_type: str, object_type: str, object_id: str, obj: Document
) -> tuple[Document, str]:
    event_id = ctx.event_id(lambda: str(uuid.uuid4()))
    document = {
        "merchant_id": SQUARE_MERCHANT_ID,
        "type": event_type,
        "event_id": event_id,
        "created_at": ctx.iso(),
        "data": {"type": object_type, "id": object_id, "object": {object_type: obj}},
    }
    return document, event_id


def _square_payment(ctx: Context, status: str, card_status: str, version: int) -> Document:
    ids = _square_ids(ctx)
    timeline: Document = {"authorized_at": ctx.iso(-30)}
    payment: Document = {
        "amount_money": ctx.money(),
        "application_details": {"application_id": "sandbox-sq0idb-" + ctx.derive("app", ALNUM, 22),
                                "square_product": "ECOMMERCE_API"},
        "card_details": {
            "avs_status": "AVS_ACCEPTED",
            "card": {"bin": "411111", "card_brand": "VISA", "card_type": "CREDIT", "exp_month": 12,
                     "exp_year": 2030, "fingerprint": "sq-1-" + ctx.derive("fingerprint", ALNUM, 40),
                     "last_4": "1111", "prepaid_type": "NOT_PREPAID"},
            "card_payment_timeline": timeline,
            "cvv_status": "CVV_ACCEPTED",
            "entry_method": "KEYED",
            "statement_description": "SQ *PAYMENT WEBHOOKS",
            "status": card_status,
        },
        "created_at": ctx.iso(-31),
        "delay_action": "CANCEL",
        "delay_duration": "PT168H",
        "delayed_until": ctx.iso(168 * 3600 - 31),
        "id": ids["payment"],
        "location_id": SQUARE_LOCATION_ID,
        "order_id": ids["order"],
        "risk_evaluation": {"created_at": ctx.iso(-30), "risk_level": "NORMAL"},
        "source_type": "CARD",
        "status": status,
        "total_money": ctx.money(),
        "updated_at": ctx.iso(),
        "version": version,
        "version_token": ctx.derive(f"version-{version}", ALNUM, 43),
    }
    if status in ("APPROVED", "COMPLETED"):
        payment["approved_money"] = ctx.money()
    if status == "COMPLETED":
        timeline["captured_at"] = ctx.iso()
        payment["processing_fee"] = [{"amount_money": ctx.money(ctx.amount * 29 // 1000 + 30),
                                      "effective_at": ctx.iso(), "type": "INITIAL"}]
        payment["receipt_number"] = ids["payment"][:4]
        payment["receipt_url"] = f"https://squareupsandbox.com/receipt/preview/{ids['payment']}"
    if status == "FAILED":
        payment["card_details"]["errors"] = [{"category": "PAYMENT_METHOD_ERROR", "code": "GENERIC_DECLINE",
                                              "detail": "Authorization error: 'GENERIC_DECLINE'"}]
    if status == "CANCELED":
        timeline["voided_at"] = ctx.iso()
    return payment


def _square_payment_event(event_type: str, status: str, card_status: str, version: int):
    def build(ctx: Context) -> tuple[Document, str]:
        payment = _square_payment(ctx, status, card_status, version)
        return _square_event(ctx, event_type, "payment", payment["id"], payment)

    return build


def _square_refund_event(event_type: str, status: str, version: int):
    def build(ctx: Context) -> tuple[Document, str]:
        ids = _square_ids(ctx)
        refund: Document = {
            "amount_money": ctx.money(),
            "created_at": ctx.iso(-10),
            "destination_type": "CARD",
            "id": ids["refund"],
            "location_id": SQUARE_LOCATION_ID,
            "order_id": ids["order"],
            "payment_id": ids["payment"],
            "reason": "Returned goods",
            "status": status,
            "updated_at": ctx.iso(),
            "version": version,
        }
        if status == "COMPLETED":
            refund["processing_fee"] = [{"amount_money": ctx.money(-(ctx.amount * 29 // 1000)),
                                         "effective_at": ctx.iso(), "type": "INITIAL"}]
        return _square_event(ctx, event_type, "refund", ids["refund"], refund)

    return build


def _square_dispute_event(event_type: str, state: str, version: int):
    def build(ctx: Context) -> tuple[Document, str]:
        ids = _square_ids(ctx)
        dispute = {
            "amount_money": ctx.money(),
            "brand_dispute_id": ids["brand_dispute"],
            "card_brand": "VISA",
            "created_at": ctx.iso(-3600),
            "dispute_id": ids["dispute"],
            "disputed_payment": {"payment_id": ids["payment"]},
            "due_at": ctx.iso(14 * 86400),
            "id": ids["dispute"],
            "location_id": SQUARE_LOCATION_ID,
            "reason": "NO_KNOWLEDGE",
            "reported_at": ctx.iso(-3600),
            "state": state,
            "updated_at": ctx.iso(),
            "version": version,
        }
        return _square_event(ctx, event_type, "dispute", ids["dispute"], dispute)

    return build


SAMPLES: list[Sample] = [
    Sample("square", "payment.created", "payment.created", "a card payment was authorized (APPROVED)",
        _square_payment_event("payment.created", "APPROVED", "AUTHORIZED", 1)),
    Sample("square", "payment.updated", "payment.updated", "payment completed (COMPLETED)",
        _square_payment_event("payment.updated", "COMPLETED", "CAPTURED", 4)),
    Sample("square", "payment.updated:failed", "payment.updated", "payment failed (FAILED, declined)",
        _square_payment_event("payment.updated", "FAILED", "FAILED", 2)),
    Sample("square", "payment.updated:canceled", "payment.updated", "payment canceled (CANCELED, voided)",
        _square_payment_event("payment.updated", "CANCELED", "VOIDED", 3)),
    Sample("square", "refund.created", "refund.created", "a refund was requested (PENDING)",
        _square_refund_event("refund.created", "PENDING", 1)),
    Sample("square", "refund.updated", "refund.updated", "a refund completed (COMPLETED)",
        _square_refund_event("refund.updated", "COMPLETED", 2)),
    Sample("square", "dispute.created", "dispute.created", "a dispute was opened (EVIDENCE_REQUIRED)",
        _square_dispute_event("dispute.created", "EVIDENCE_REQUIRED", 1)),
    Sample("square", "dispute.state.updated", "dispute.state.updated", "a dispute was decided (WON)",
        _square_dispute_event("dispute.state.updated", "WON", 4)),
]
