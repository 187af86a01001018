"""Adyen samples: ``{live, notificationItems: [{NotificationRequestItem}]}``; each item is signed.

Modifications (capture, cancellation, refund, chargeback) carry ``originalReference``, the
payment's ``pspReference``.
"""

from __future__ import annotations

import string
from datetime import UTC, datetime
from typing import Any

from providers_tooling.samples import (
    UPPER_ALNUM,
    Context,
    Document,
    Sample,
    random_id,
)

ADYEN_MERCHANT_ACCOUNT = "PaymentWebhooksECOM"
ADYEN_FAILURE_REASON = "Refused"


def new_payment_id() -> str:
    return random_id(UPPER_ALNUM, 16)


def adyen_notification_item(
    event_code: str,
    psp_reference: str,
    *,
    success: bool = True,
    original_reference: str | None = None,
    amount: int = 2000,
    currency: str = "USD",
    merchant_reference: str = "order-1234",
    event_date: str = "2024-02-15T12:00:00+00:00",
    reason: str = "",
    additional_data: Document | None = None,
    operations: list[str] | None = None,
    payment_method: str = "visa",
) -> Document:
    """One ``{"NotificationRequestItem": {...}}`` entry, unsigned (``ops.signing`` signs it)."""
    item: Document = {
        "additionalData": dict(additional_data or {}),
        "amount": {"currency": currency, "value": amount},
        "eventCode": event_code,
        "eventDate": event_date,
        "merchantAccountCode": ADYEN_MERCHANT_ACCOUNT,
        "merchantReference": merchant_reference,
        "paymentMethod": payment_method,
        "pspReference": psp_reference,
        "reason": reason,
        "success": "true" if success else "false",
    }
    if original_reference:
        item["originalReference"] = original_reference
    if operations is not None:
        item["operations"] = operations
    return {"NotificationRequestItem": item}


def adyen_dedupe_key(item: Document) -> str:
    """The id the receiver deduplicates an Adyen item on (see chalicelib/providers/adyen.py)."""
    fields = item["NotificationRequestItem"]
    return ":".join((fields["pspReference"], fields["eventCode"], fields["success"],
                     fields.get("originalReference", "")))


def _adyen(event_code: str, success: bool = True):
    def build(ctx: Context) -> tuple[Document, str]:
        payment = ctx.payment_id
        common: dict[str, Any] = {"amount": ctx.amount, "currency": ctx.currency,
                  "merchant_reference": "order-" + ctx.derive("order", string.digits, 8),
                  "event_date": datetime.fromtimestamp(ctx.now, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")}
        if event_code == "AUTHORISATION":
            if success:
                auth_code = ctx.derive("auth", string.digits, 6)
                item = adyen_notification_item(
                    event_code, payment, reason=f"{auth_code}:1111:03/2030",
                    additional_data={"authCode": auth_code, "cardSummary": "1111", "expiryDate": "03/2030",
                                     "cardBin": "411111", "paymentMethodVariant": "visa"},
                    operations=["CANCEL", "CAPTURE", "REFUND"], **common)
            else:
                item = adyen_notification_item(
                    event_code, payment, success=False, reason=ADYEN_FAILURE_REASON,
                    additional_data={"cardSummary": "0002", "expiryDate": "03/2030",
                                     "refusalReasonRaw": "05 : Do not honor"}, **common)
        else:
            additional: Document = {}
            reason = ""
            if event_code == "CHARGEBACK":
                reason = "Merchandise/Services Not Received"
                additional = {"chargebackReasonCode": "13.1", "chargebackSchemeCode": "visa",
                              "defensePeriodEndsAt": ctx.iso(14 * 86400, millis=False), "defendable": "true",
                              "disputeStatus": "Undefended", "modificationMerchantReferences": ""}
            modification = ctx.derive(event_code, UPPER_ALNUM, 16)
            item = adyen_notification_item(event_code, modification, original_reference=payment, reason=reason,
                                           additional_data=additional, **common)
        return {"live": "false", "notificationItems": [item]}, adyen_dedupe_key(item)

    return build


SAMPLES: list[Sample] = [
    Sample("adyen", "AUTHORISATION", "AUTHORISATION", "payment authorised (success=true)", _adyen("AUTHORISATION")),
    Sample("adyen", "AUTHORISATION:refused", "AUTHORISATION", "payment refused (success=false)",
        _adyen("AUTHORISATION", success=False)),
    Sample("adyen", "CAPTURE", "CAPTURE", "the payment was captured", _adyen("CAPTURE")),
    Sample("adyen", "CANCELLATION", "CANCELLATION", "the authorisation was cancelled", _adyen("CANCELLATION")),
    Sample("adyen", "REFUND", "REFUND", "the payment was refunded", _adyen("REFUND")),
    Sample("adyen", "CHARGEBACK", "CHARGEBACK", "a chargeback was received", _adyen("CHARGEBACK")),
]
