"""GoCardless samples: ``{"events": [{id, created_at, resource_type, action, links, details}], "meta"}``.

The event shape is the one in GoCardless's API reference and in the official SDK's fixture
(gocardless-pro-python ``tests/fixtures/webhook_body.json``, copied in
``tests/fixtures/gocardless/``): ``details`` carries ``origin``, ``cause`` and ``description``
(and for bank-reported outcomes ``scheme`` and ``reason_code``). Events carry **no amounts**.
Each sample is a delivery of one event; :func:`delivery_of` joins several into one delivery,
as GoCardless batches them.
"""

from __future__ import annotations

from dataclasses import replace

from providers_tooling.samples import UPPER_ALNUM, BuiltEvent, Context, Document, Sample, random_id

# (resource type, action) -> (origin, cause, description), as GoCardless words them.
DETAILS: dict[tuple[str, str], tuple[str, str, str]] = {
    ("payments", "created"): ("api", "payment_created", "Payment created via the API."),
    ("payments", "submitted"): ("gocardless", "payment_submitted",
                                "Payment submitted to the banks. As a result, it can no longer be cancelled."),
    ("payments", "confirmed"): ("gocardless", "payment_confirmed",
                                "Enough time has passed since the payment was submitted for the banks to "
                                "return an error, so this payment is now confirmed."),
    ("payments", "paid_out"): ("gocardless", "payment_paid_out",
                               "The payment has been paid out by GoCardless."),
    ("payments", "failed"): ("bank", "insufficient_funds",
                             "The customer's account had insufficient funds to make this payment."),
    ("payments", "cancelled"): ("api", "payment_cancelled", "The payment was cancelled."),
    ("payments", "charged_back"): ("bank", "authorisation_disputed",
                                   "The customer has disputed that the amount taken differs from the "
                                   "amount they were notified of."),
    ("refunds", "created"): ("api", "payment_refunded",
                             "The refund has been created, and will be submitted in the next batch."),
    ("refunds", "paid"): ("gocardless", "refund_paid", "The refund has been paid to your customer."),
    ("mandates", "created"): ("api", "mandate_created", "Mandate created via the API."),
    ("mandates", "active"): ("gocardless", "mandate_activated",
                             "The time window after submission for the banks to refuse a mandate has "
                             "ended without any errors being received, so this mandate is now active."),
    ("mandates", "cancelled"): ("bank", "bank_account_closed",
                                "The bank account for this mandate has been closed."),
}
BANK_REASON_CODES: dict[str, tuple[str, str]] = {  # cause -> (scheme, reason code)
    "insufficient_funds": ("sepa_core", "AM04"),
    "authorisation_disputed": ("bacs", "ADDACS-1"),
    "bank_account_closed": ("bacs", "ADDACS-B"),
}


def new_payment_id() -> str:
    return "PM" + random_id(UPPER_ALNUM, 12)


def _new_event_id() -> str:
    return "EV" + random_id(UPPER_ALNUM, 12)


def _links(ctx: Context, resource_type: str) -> Document:
    if resource_type == "payments":
        return {"payment": ctx.payment_id}
    if resource_type == "refunds":
        # Refund events name only the refund: its payment is on the refund resource (the API).
        return {"refund": "RF" + ctx.derive("refund", UPPER_ALNUM, 12)}
    return {"mandate": "MD" + ctx.derive("mandate", UPPER_ALNUM, 12)}


def _event(resource_type: str, action: str):
    def build(ctx: Context) -> tuple[Document, str]:
        event_id = ctx.event_id(_new_event_id)
        origin, cause, description = DETAILS[(resource_type, action)]
        details: Document = {"origin": origin, "cause": cause, "description": description}
        if cause in BANK_REASON_CODES:
            details["scheme"], details["reason_code"] = BANK_REASON_CODES[cause]
        event = {
            "id": event_id,
            "created_at": ctx.iso(),
            "resource_type": resource_type,
            "action": action,
            "links": _links(ctx, resource_type),
            "details": details,
            "metadata": {},
        }
        return {"events": [event], "meta": {"webhook_id": "WB" + random_id(UPPER_ALNUM, 12)}}, event_id

    return build


def delivery_of(*events: BuiltEvent) -> BuiltEvent:
    """One delivery carrying every event of ``events`` in order (GoCardless batches events);
    the result reports the first one's id and type."""
    first = events[0]
    document = {"events": [item for built in events for item in built.document["events"]],
                "meta": first.document["meta"]}
    return replace(first, document=document)


def _sample(resource_type: str, action: str, description: str) -> Sample:
    name = f"{resource_type}.{action}"
    return Sample("gocardless", name, name, description, _event(resource_type, action))


SAMPLES: list[Sample] = [
    _sample("payments", "created", "a payment was created (pending)"),
    _sample("payments", "submitted", "the payment was submitted to the banks"),
    _sample("payments", "confirmed", "the payment was collected (succeeded)"),
    _sample("payments", "paid_out", "the payment was paid out to the creditor"),
    _sample("payments", "failed", "the payment failed (insufficient funds)"),
    _sample("payments", "cancelled", "the payment was cancelled"),
    _sample("payments", "charged_back", "the customer disputed the payment (chargeback)"),
    _sample("refunds", "created", "a refund was created"),
    _sample("refunds", "paid", "the refund was paid to the customer"),
    _sample("mandates", "created", "a mandate was created"),
    _sample("mandates", "active", "the mandate became active"),
    _sample("mandates", "cancelled", "the mandate was cancelled"),
]
