"""Normalizing (step 6): a payment is keyed by its authorisation's ``pspReference``; modifications
(capture, cancellation, refund) and disputes carry it as ``originalReference``, and their own
``pspReference`` identifies the refund or the dispute. Money decisions read signed fields only
(codes, references, ``success``, ``amount``); ``eventDate``, which is not signed, serves only to
order facts of the same rank. Adyen counts CLP and ISK in hundredths and CVE and IDR in whole
units, unlike ISO 4217 (docs.adyen.com/development-resources/currency-codes): amounts are
converted. ``CHARGEBACK`` means the funds were debited, so it counts as a lost dispute until a
``CHARGEBACK_REVERSED`` (later in time) wins it back.

The later dispute events (``CHARGEBACK_REVERSED``, ``SECOND_CHARGEBACK``, ``PREARBITRATION_*``)
often carry only the dispute's own ``pspReference``. The dispute events that carry both
references (``NOTIFICATION_OF_CHARGEBACK``, ``CHARGEBACK``, ...) declare that reference as a
related key of the payment, so the payment store links it (an alias) and the later events land
on the payment that was charged back; one that arrives first is folded in when the link is made.

``CANCEL_OR_REFUND`` is a cancellation when Adyen says it cancelled (``additionalData``
``modification.action`` = ``cancel``: the authorisation was not captured), else a refund.
A zero-value ``AUTHORISATION`` is a card check (a card saved or changed), not a payment: ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ProcessingError
from chalicelib.payments import fields, money
from chalicelib.payments.details import reason_of, references_of
from chalicelib.payments.model import EventKind, PaymentEvent, PaymentStatus, payment_key
from chalicelib.providers.adyen.items import AUTO_CAPTURE_OPTION
from chalicelib.providers.adyen.signature import ITEM_KEY

if TYPE_CHECKING:
    from chalicelib.webhooks.record import WebhookRecord


# eventCode -> (kind, status when success is "true", status when "false"); None: not mapped.
EVENT_MAPPING: dict[str, tuple[str, str | None, str | None]] = {
    "AUTHORISATION": (EventKind.PAYMENT, PaymentStatus.AUTHORIZED, PaymentStatus.FAILED),
    "CAPTURE": (EventKind.PAYMENT, PaymentStatus.SUCCEEDED, PaymentStatus.FAILED),
    "CAPTURE_FAILED": (EventKind.PAYMENT, PaymentStatus.FAILED, None),
    # a failed cancellation leaves the authorisation
    "CANCELLATION": (EventKind.PAYMENT, PaymentStatus.CANCELED, PaymentStatus.AUTHORIZED),
    "TECHNICAL_CANCEL": (EventKind.PAYMENT, PaymentStatus.CANCELED, None),  # cancelled by Adyen (e.g. a POS timeout)
    # the authorisation lapsed uncaptured: nothing will be paid
    "EXPIRE": (EventKind.PAYMENT, PaymentStatus.CANCELED, None),
    "OFFER_CLOSED": (EventKind.PAYMENT, PaymentStatus.CANCELED, None),  # the shopper never completed it (iDEAL, ...)
    "MANUAL_REVIEW_REJECT": (EventKind.PAYMENT, PaymentStatus.FAILED, None),  # risk review refused it
    # The authorised amount changed (hotels, car rental): the adjusted amount is the authorisation.
    # A failed adjustment leaves the earlier one, so it is not mapped.
    "AUTHORISATION_ADJUSTMENT": (EventKind.PAYMENT, PaymentStatus.AUTHORIZED, None),
    "REFUND": (EventKind.REFUND, PaymentStatus.REFUND_SUCCEEDED, PaymentStatus.REFUND_FAILED),
    "CANCEL_OR_REFUND": (EventKind.REFUND, PaymentStatus.REFUND_SUCCEEDED, PaymentStatus.REFUND_FAILED),
    "REFUND_FAILED": (EventKind.REFUND, PaymentStatus.REFUND_FAILED, None),
    "REFUNDED_REVERSED": (EventKind.REFUND, PaymentStatus.REFUND_FAILED, None),
    # A pending (POS) refund voided before it was sent: that refund never happens.
    "VOID_PENDING_REFUND": (EventKind.REFUND, PaymentStatus.REFUND_FAILED, None),
    "NOTIFICATION_OF_CHARGEBACK": (EventKind.DISPUTE, PaymentStatus.DISPUTE_OPEN, None),
    "CHARGEBACK": (EventKind.DISPUTE, PaymentStatus.DISPUTE_LOST, None),
    "CHARGEBACK_REVERSED": (EventKind.DISPUTE, PaymentStatus.DISPUTE_WON, None),
    "SECOND_CHARGEBACK": (EventKind.DISPUTE, PaymentStatus.DISPUTE_LOST, None),
    "PREARBITRATION_WON": (EventKind.DISPUTE, PaymentStatus.DISPUTE_WON, None),
    "PREARBITRATION_LOST": (EventKind.DISPUTE, PaymentStatus.DISPUTE_LOST, None),
}
# Adyen's decimals where they differ from ISO 4217.
ADYEN_UNIT_EXPONENTS: dict[str, int] = {"CLP": 2, "CVE": 0, "IDR": 0, "ISK": 2}
# Events whose pspReference is the payment's own (the rest name it as originalReference).
OWN_REFERENCE_EVENTS = frozenset({"AUTHORISATION", "EXPIRE", "OFFER_CLOSED"})
# Dispute events that may arrive without originalReference: keyed by the dispute's pspReference,
# which the payment store resolves through the alias that dispute events carrying both
# references declare (``related_payment_keys``).
LATER_DISPUTE_EVENTS = frozenset(
    {"CHARGEBACK_REVERSED", "SECOND_CHARGEBACK", "PREARBITRATION_WON", "PREARBITRATION_LOST"}
)


def adyen_amount(item: Mapping[str, Any]) -> tuple[int, str] | None:
    """The item's signed ``amount`` as (ISO minor units, currency), None when absent."""
    amount = item.get("amount")
    if amount is None:
        return None
    if not isinstance(amount, dict):
        raise ProcessingError("amount is not an object")
    code = money.currency_code(amount.get("currency"), "amount.currency")
    value = money.minor_units_from_integer_or_historical(
        amount.get("value"), code, "amount.value", ADYEN_UNIT_EXPONENTS.get(code)
    )
    return value, code


def _is_cancellation(item: Mapping[str, Any]) -> bool:
    """Whether a CANCEL_OR_REFUND cancelled the authorisation (Adyen reports what it did)."""
    additional = item.get("additionalData")
    return isinstance(additional, dict) and additional.get("modification.action") == "cancel"


def normalize(webhook: WebhookRecord, options: Mapping[str, Any] | None = None) -> PaymentEvent | None:
    """A stored Adyen notification item as a PaymentEvent, or None outside the mapping.

    ``options`` are the source's options (:data:`AUTO_CAPTURE_OPTION`).
    """
    event_type = webhook.event_type
    mapping = EVENT_MAPPING.get(event_type)
    if mapping is None:
        return None
    item = fields.obj(fields.load_object(webhook.payload), ITEM_KEY)
    success = item.get("success")
    if success not in ("true", "false"):
        raise ProcessingError("success is not \"true\" or \"false\"")
    kind, if_success, if_failure = mapping
    if event_type == "CANCEL_OR_REFUND" and _is_cancellation(item):
        kind, if_success, if_failure = EVENT_MAPPING["CANCELLATION"]
    status = if_success if success == "true" else if_failure
    if status is None:
        return None  # e.g. a REFUND_FAILED that did not succeed: Adyen documents no such thing
    psp_reference = fields.text(item, "pspReference")
    related: tuple[str, ...] = ()
    if event_type in OWN_REFERENCE_EVENTS:
        payment_id = psp_reference
    elif event_type in LATER_DISPUTE_EVENTS and not item.get("originalReference"):
        payment_id = psp_reference  # the dispute's reference: an alias of the payment once linked
    else:
        payment_id = fields.text(item, "originalReference")
        if kind == EventKind.DISPUTE and psp_reference != payment_id:
            related = (payment_key("adyen", psp_reference),)
    stated = adyen_amount(item)
    amount, currency = stated if stated is not None else (None, None)
    if event_type == "AUTHORISATION" and status == PaymentStatus.AUTHORIZED:
        if amount == 0:
            return None  # a zero-value authorisation checks a card; no money will move
        if options is not None and options.get(AUTO_CAPTURE_OPTION) is True:
            status = PaymentStatus.SUCCEEDED
    event_date = item.get("eventDate")
    occurred_at = fields.rfc3339_time(event_date, "eventDate") if event_date else webhook.received_at
    details: dict[str, Any] = {"currency": currency}
    money_moved = status in (PaymentStatus.AUTHORIZED, PaymentStatus.SUCCEEDED)
    if kind == EventKind.PAYMENT and money_moved and if_success != PaymentStatus.CANCELED:
        details["amount"] = amount
    elif kind == EventKind.REFUND:
        if amount is None:
            raise ProcessingError("the refund has no amount")
        details.update(refund_id=psp_reference, refund_amount=amount)
    elif kind == EventKind.DISPUTE:
        details["dispute_id"] = psp_reference
    # issue #13: captures are summed per capture (CAPTURE_FAILED names the CAPTURE it undoes), a
    # chargeback states its amount, the merchant account is the payment's account.
    if webhook.event_type in ("CAPTURE", "CAPTURE_FAILED"):
        details["capture_id"] = psp_reference
    elif kind == EventKind.DISPUTE:
        details["dispute_amount"] = amount
    details["account"] = fields.optional_text(item, "merchantAccountCode")
    details.update(_ledger_details(item, kind, status))
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=payment_id,
        related_payment_keys=related,
        kind=kind,
        status=status,
        occurred_at=occurred_at,
        **details,
    )


FAILURE_STATUSES = frozenset({PaymentStatus.FAILED, PaymentStatus.REFUND_FAILED})


def _ledger_details(item: Mapping[str, Any], kind: str, status: str) -> dict[str, Any]:
    """The merchant's ``merchantReference``, and ``reason`` where it is a reason: on a failure
    (a refused authorisation, CAPTURE_FAILED, REFUND_FAILED) and on a dispute (the chargeback's
    reason code and text). On a successful AUTHORISATION ``reason`` holds the authorisation code,
    the card's last digits and its expiry: never taken. Adyen's standard notifications carry no
    fees (they come with the settlement reports), so an Adyen event has none."""
    reason = item.get("reason") if status in FAILURE_STATUSES or kind == EventKind.DISPUTE else None
    return {
        "references": references_of([("merchantReference", item.get("merchantReference"))]),
        "reason": reason_of(reason),
    }
