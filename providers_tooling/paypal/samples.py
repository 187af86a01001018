"""PayPal samples: ``{id, event_type, resource_type, resource, ...}`` (Payments v2 resources).

Captures and authorizations carry ``supplementary_data.related_ids.order_id`` and a ``links``
entry with ``rel: up`` to the order; a refund links ``up`` to its capture, and a dispute names the
capture in ``disputed_transactions[].seller_transaction_id``.
"""

from __future__ import annotations

import string

from providers_tooling.samples import (
    UPPER_ALNUM,
    Context,
    Document,
    Sample,
    decimal_amount,
    random_id,
)

PAYPAL_API = "https://api.sandbox.paypal.com"
PAYPAL_MERCHANT_ID = "C8NHK6E2MFMQ4"


def _paypal_money(ctx: Context, amount: int | None = None) -> dict[str, str]:
    """A PayPal ``Money``: the currency and a decimal string ("20.00")."""
    value = ctx.amount if amount is None else amount
    return {"currency_code": ctx.currency, "value": decimal_amount(value, ctx.currency)}


def new_payment_id() -> str:
    return random_id(UPPER_ALNUM, 17)


def _paypal_ids(ctx: Context) -> dict[str, str]:
    return {
        "order": ctx.payment_id,
        "capture": ctx.derive("capture", UPPER_ALNUM, 17),
        "authorization": ctx.derive("authorization", UPPER_ALNUM, 17),
        "refund": ctx.derive("refund", UPPER_ALNUM, 17),
        "dispute": "PP-D-" + ctx.derive("dispute", string.digits, 5),
    }


def _link(path: str, rel: str, method: str = "GET") -> Document:
    return {"href": f"{PAYPAL_API}{path}", "rel": rel, "method": method}


def _paypal_event(ctx: Context, event_type: str, resource_type: str, resource: Document, summary: str,
                  resource_version: str = "2.0") -> tuple[Document, str]:
    event_id = ctx.event_id(lambda: f"WH-{random_id(UPPER_ALNUM, 17)}-{random_id(UPPER_ALNUM, 17)}")
    document = {
        "id": event_id,
        "event_version": "1.0",
        "create_time": ctx.iso(),
        "resource_type": resource_type,
        "resource_version": resource_version,
        "event_type": event_type,
        "summary": summary,
        "resource": resource,
        "links": [
            _link(f"/v1/notifications/webhooks-events/{event_id}", "self"),
            _link(f"/v1/notifications/webhooks-events/{event_id}/resend", "resend", "POST"),
        ],
    }
    return document, event_id


def _paypal_fee(ctx: Context) -> int:
    return ctx.amount * 349 // 10000 + 49


def _paypal_capture(status: str, event_type: str, summary: str):
    def build(ctx: Context) -> tuple[Document, str]:
        ids = _paypal_ids(ctx)
        capture: Document = {
            "id": ids["capture"],
            "amount": _paypal_money(ctx),
            "final_capture": True,
            "seller_protection": {"status": "ELIGIBLE",
                                  "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]},
            "status": status,
            "supplementary_data": {"related_ids": {"order_id": ids["order"]}},
            "create_time": ctx.iso(-5, millis=False),
            "update_time": ctx.iso(millis=False),
            "links": [
                _link(f"/v2/payments/captures/{ids['capture']}", "self"),
                _link(f"/v2/payments/captures/{ids['capture']}/refund", "refund", "POST"),
                _link(f"/v2/checkout/orders/{ids['order']}", "up"),
            ],
        }
        if status == "COMPLETED":
            fee = _paypal_fee(ctx)
            capture["seller_receivable_breakdown"] = {"gross_amount": _paypal_money(ctx),
                                                      "paypal_fee": _paypal_money(ctx, fee),
                                                      "net_amount": _paypal_money(ctx, ctx.amount - fee)}
        if status == "PENDING":
            capture["status_details"] = {"reason": "PENDING_REVIEW"}
        if status == "DENIED":
            capture["links"] = [capture["links"][0], capture["links"][2]]  # nothing left to refund
        text = summary.format(amount=decimal_amount(ctx.amount, ctx.currency), currency=ctx.currency)
        return _paypal_event(ctx, event_type, "capture", capture, text)

    return build


def _paypal_refunded(ctx: Context) -> tuple[Document, str]:
    ids = _paypal_ids(ctx)
    fee = _paypal_fee(ctx) - 49  # PayPal keeps its fixed fee on a refund
    refund = {
        "id": ids["refund"],
        "amount": _paypal_money(ctx),
        "note_to_payer": "Refund for your order",
        "seller_payable_breakdown": {"gross_amount": _paypal_money(ctx), "paypal_fee": _paypal_money(ctx, fee),
                                     "net_amount": _paypal_money(ctx, ctx.amount - fee),
                                     "total_refunded_amount": _paypal_money(ctx)},
        "status": "COMPLETED",
        "create_time": ctx.iso(-2, millis=False),
        "update_time": ctx.iso(millis=False),
        "links": [
            _link(f"/v2/payments/refunds/{ids['refund']}", "self"),
            _link(f"/v2/payments/captures/{ids['capture']}", "up"),
        ],
    }
    summary = f"A {decimal_amount(ctx.amount, ctx.currency)} {ctx.currency} capture payment was refunded"
    return _paypal_event(ctx, "PAYMENT.CAPTURE.REFUNDED", "refund", refund, summary)


def _paypal_authorization(status: str, event_type: str, summary: str):
    def build(ctx: Context) -> tuple[Document, str]:
        ids = _paypal_ids(ctx)
        path = f"/v2/payments/authorizations/{ids['authorization']}"
        links = [_link(path, "self")]
        if status == "CREATED":
            links += [_link(f"{path}/capture", "capture", "POST"), _link(f"{path}/void", "void", "POST"),
                      _link(f"{path}/reauthorize", "reauthorize", "POST")]
        links.append(_link(f"/v2/checkout/orders/{ids['order']}", "up"))
        authorization = {
            "id": ids["authorization"],
            "amount": _paypal_money(ctx),
            "expiration_time": ctx.iso(29 * 86400, millis=False),
            "seller_protection": {"status": "ELIGIBLE",
                                  "dispute_categories": ["ITEM_NOT_RECEIVED", "UNAUTHORIZED_TRANSACTION"]},
            "status": status,
            "supplementary_data": {"related_ids": {"order_id": ids["order"]}},
            "create_time": ctx.iso(-60, millis=False),
            "update_time": ctx.iso(millis=False),
            "links": links,
        }
        return _paypal_event(ctx, event_type, "authorization", authorization, summary)

    return build


def _paypal_dispute(status: str, event_type: str, summary: str):
    def build(ctx: Context) -> tuple[Document, str]:
        ids = _paypal_ids(ctx)
        dispute: Document = {
            "dispute_id": ids["dispute"],
            "create_time": ctx.iso(-3600),
            "update_time": ctx.iso(),
            "disputed_transactions": [{
                "seller_transaction_id": ids["capture"],
                "create_time": ctx.iso(-86400),
                "transaction_status": "COMPLETED",
                "gross_amount": _paypal_money(ctx),
                "buyer": {"name": "John Doe"},
                "seller": {"merchant_id": PAYPAL_MERCHANT_ID, "name": "Payment Webhooks Test Store"},
                "items": [],
                "seller_protection_eligible": True,
            }],
            "reason": "MERCHANDISE_OR_SERVICE_NOT_RECEIVED",
            "status": status,
            "dispute_amount": _paypal_money(ctx),
            "dispute_life_cycle_stage": "INQUIRY",
            "dispute_channel": "INTERNAL",
            "messages": [{"posted_by": "BUYER", "time_posted": ctx.iso(-3600),
                          "content": "I have not received the item yet."}],
            "seller_response_due_date": ctx.iso(20 * 86400),
            "links": [_link(f"/v1/customer/disputes/{ids['dispute']}", "self")],
        }
        if status == "RESOLVED":
            dispute["dispute_outcome"] = {"outcome_code": "RESOLVED_SELLER_FAVOUR"}
            dispute.pop("seller_response_due_date")
        return _paypal_event(ctx, event_type, "dispute", dispute, summary.format(id=ids["dispute"]),
                             resource_version="1.0")

    return build


SAMPLES: list[Sample] = [
    Sample("paypal", "PAYMENT.AUTHORIZATION.CREATED", "PAYMENT.AUTHORIZATION.CREATED", "a payment was authorized",
        _paypal_authorization("CREATED", "PAYMENT.AUTHORIZATION.CREATED", "A payment authorization was created")),
    Sample("paypal", "PAYMENT.AUTHORIZATION.VOIDED", "PAYMENT.AUTHORIZATION.VOIDED", "an authorization was voided",
        _paypal_authorization("VOIDED", "PAYMENT.AUTHORIZATION.VOIDED", "A payment authorization was voided")),
    Sample("paypal", "PAYMENT.CAPTURE.PENDING", "PAYMENT.CAPTURE.PENDING", "a capture is pending review",
        _paypal_capture("PENDING", "PAYMENT.CAPTURE.PENDING", "Payment pending for {amount} {currency}")),
    Sample("paypal", "PAYMENT.CAPTURE.COMPLETED", "PAYMENT.CAPTURE.COMPLETED", "payment captured (success)",
        _paypal_capture("COMPLETED", "PAYMENT.CAPTURE.COMPLETED", "Payment completed for {amount} {currency}")),
    Sample("paypal", "PAYMENT.CAPTURE.DENIED", "PAYMENT.CAPTURE.DENIED", "payment capture denied (failure)",
        _paypal_capture("DENIED", "PAYMENT.CAPTURE.DENIED", "Payment denied for {amount} {currency}")),
    Sample("paypal", "PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REFUNDED", "a capture was refunded",
        _paypal_refunded),
    Sample("paypal", "CUSTOMER.DISPUTE.CREATED", "CUSTOMER.DISPUTE.CREATED", "a buyer opened a dispute",
        _paypal_dispute("OPEN", "CUSTOMER.DISPUTE.CREATED", "A new dispute opened with Case # {id}")),
    Sample("paypal", "CUSTOMER.DISPUTE.RESOLVED", "CUSTOMER.DISPUTE.RESOLVED",
        "a dispute was resolved (seller's favour)",
        _paypal_dispute("RESOLVED", "CUSTOMER.DISPUTE.RESOLVED", "A dispute was resolved with Case # {id}")),
]
