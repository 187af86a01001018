"""PayPal webhooks: an RSA signature made with PayPal's message-verification certificate.

Headers (lower-case here): ``paypal-transmission-id``, ``paypal-transmission-time`` (used
verbatim), ``paypal-transmission-sig`` (base64), ``paypal-cert-url`` and ``paypal-auth-algo``
(must be ``SHA256withRSA``). The signed message is::

    f"{transmission_id}|{transmission_time}|{webhook_id}|{zlib.crc32(raw) & 0xFFFFFFFF}"

where ``webhook_id`` is *our* webhook subscription id: each value of ``SourceConfig.secrets``
(several while one is being rotated; any match passes). The signature is RSASSA-PKCS1-v1_5 with
SHA-256 under the public key of the certificate at ``paypal-cert-url``, which is checked,
fetched, validated and cached by :mod:`chalicelib.providers.paypal_certs` (allow-listed hosts
only, chain to a trusted root, validity dates as of ``now``, PayPal's message-verification
subject). A certificate that cannot be fetched right now raises
:class:`~chalicelib.errors.DependencyUnavailable` (503, PayPal retries); every other failure is
:class:`~chalicelib.errors.InvalidSignature` (an expired certificate included).

No tolerance is enforced on ``paypal-transmission-time``: PayPal documents none, does not say
whether a retry is re-signed with a fresh time (it retries up to 25 times over 3 days), and its
only published signed delivery (the 2017 fixture) would otherwise be unverifiable. Replays are
handled by deduplicating on the event ``id``; the certificate's validity dates are checked.

Options (``SourceConfig.options``), all optional:

``certHosts``
    Hosts the certificate URL may use, exact match. Default
    ``["api.paypal.com", "api.sandbox.paypal.com"]``.
``certSubjects``
    Names the leaf certificate must carry exactly (subject CN or DNS SAN). Default
    ``["messageverificationcerts.paypal.com", "messageverificationcerts.sandbox.paypal.com"]``.
``trustRootsPem``
    PEM text of the trust anchors. Default: certifi's bundle (``certifi.where()``).
``intermediatesPem``
    PEM text of extra intermediate certificates (never fetched from AIA URLs).
``allowLoopbackCertHost``
    ``true`` allows a loopback host listed in ``certHosts`` (any port, http or https) only when
    the environment variable ``STAGE`` is ``local``; ignored in every other stage.

``cryptography`` is only imported (by ``paypal_certs``) when a delivery is verified.

Normalizing (step 6): a payment is keyed by its order id
(``supplementary_data.related_ids.order_id``) when the resource names one, else by its
authorization id, else by its capture id. A refund names only its capture (the ``up`` link) and a
dispute only its transaction (``disputed_transactions[].seller_transaction_id``, the capture id),
so capture events declare their capture id as a related key of the order: the payment store
links it, and refunds and disputes keyed by the capture land on the order's record. Amounts are
decimal strings (``"10.00"``) converted with the currency's ISO 4217 exponent. The event time is
the resource's ``update_time``, else its ``create_time``, else the event's ``create_time``.
"""

from __future__ import annotations

import base64
import binascii
import zlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ConfigurationError, InvalidSignature, MalformedPayload, ProcessingError
from chalicelib.payments import fields, money
from chalicelib.payments.model import (
    AUTHORIZED,
    CANCELED,
    DISPUTE,
    DISPUTE_LOST,
    DISPUTE_OPEN,
    DISPUTE_WON,
    FAILED,
    PAYMENT,
    PENDING,
    REFUND,
    REFUND_FAILED,
    REFUND_PENDING,
    REFUND_SUCCEEDED,
    SUCCEEDED,
    PaymentEvent,
    payment_key,
)
from chalicelib.providers import paypal_certs
from chalicelib.providers.base import (
    InboundEvent,
    SourceConfig,
    parse_json_object,
    require_header,
    required_string,
)

if TYPE_CHECKING:
    from chalicelib.store import WebhookRecord

TRANSMISSION_ID = "paypal-transmission-id"
TRANSMISSION_TIME = "paypal-transmission-time"
TRANSMISSION_SIG = "paypal-transmission-sig"
CERT_URL = "paypal-cert-url"
AUTH_ALGO = "paypal-auth-algo"
SUPPORTED_AUTH_ALGO = "SHA256withRSA"

PAYMENT_EVENT_PREFIXES: tuple[str, ...] = (
    "PAYMENT.CAPTURE.",
    "PAYMENT.AUTHORIZATION.",
    "CUSTOMER.DISPUTE.",
    "PAYMENT.SALE.",
    "CHECKOUT.ORDER.",
)

# PayPal signs with RSA-2048 (a 256-byte signature); keys of 2048 to 4096 bits are accepted, so a
# signature outside 256..512 bytes cannot verify and is refused before any certificate fetch.
_MIN_SIGNATURE_BYTES = 256
_MAX_SIGNATURE_BYTES = 512
_MAX_SIGNATURE_CHARS = 2048


def signed_message(
    transmission_id: str, transmission_time: str, webhook_id: str, raw: bytes
) -> bytes:
    """The exact bytes PayPal signs for one webhook id (CRC32 as an unsigned decimal)."""
    crc = zlib.crc32(raw) & 0xFFFFFFFF
    return f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()


def _decode_signature(value: str) -> bytes:
    if len(value) > _MAX_SIGNATURE_CHARS:
        raise InvalidSignature()
    try:
        signature = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidSignature() from None
    if not _MIN_SIGNATURE_BYTES <= len(signature) <= _MAX_SIGNATURE_BYTES:
        raise InvalidSignature()
    return signature


# -- normalize (step 6) -------------------------------------------------------------------------

CAPTURE_STATUSES: dict[str, str] = {
    "PAYMENT.CAPTURE.PENDING": PENDING,
    "PAYMENT.CAPTURE.COMPLETED": SUCCEEDED,
    "PAYMENT.CAPTURE.DENIED": FAILED,
    "PAYMENT.CAPTURE.DECLINED": FAILED,
}
AUTHORIZATION_STATUSES: dict[str, str] = {
    "PAYMENT.AUTHORIZATION.CREATED": AUTHORIZED,
    "PAYMENT.AUTHORIZATION.VOIDED": CANCELED,
}
REFUND_EVENT_TYPES = frozenset({"PAYMENT.CAPTURE.REFUNDED", "PAYMENT.CAPTURE.REVERSED"})
DISPUTE_EVENT_PREFIX = "CUSTOMER.DISPUTE."
REFUND_STATUSES: dict[str, str] = {
    "PENDING": REFUND_PENDING,
    "COMPLETED": REFUND_SUCCEEDED,
    "FAILED": REFUND_FAILED,
    "CANCELLED": REFUND_FAILED,
}
# dispute_outcome.outcome_code of a resolved dispute: did the merchant keep the money?
DISPUTE_OUTCOMES: dict[str, str] = {
    "RESOLVED_BUYER_FAVOUR": DISPUTE_LOST,
    "ACCEPTED": DISPUTE_LOST,
    "RESOLVED_SELLER_FAVOUR": DISPUTE_WON,
    "RESOLVED_WITH_PAYOUT": DISPUTE_WON,  # PayPal paid the buyer from its own funds
    "CANCELED_BY_BUYER": DISPUTE_WON,
    "DENIED": DISPUTE_WON,
    "NONE": DISPUTE_WON,  # closed without a decision against the merchant
}


def paypal_amount(obj: Mapping[str, Any], name: str) -> tuple[int, str] | None:
    """A PayPal ``Money`` (``{"currency_code": "USD", "value": "10.00"}``) as (minor units, code)."""
    value = obj.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise ProcessingError(f"resource.{name} is not a Money object")
    code = money.currency_code(value.get("currency_code"), f"resource.{name}.currency_code")
    return money.minor_units_from_decimal(value.get("value"), code, f"resource.{name}.value"), code


def _time(document: Mapping[str, Any], resource: Mapping[str, Any]) -> str:
    candidates = ((resource, "update_time"), (resource, "create_time"), (document, "create_time"))
    for source, name in candidates:
        if source.get(name):
            return fields.rfc3339_time(source.get(name), name)
    raise ProcessingError("the event has no time")


def _linked_id(resource: Mapping[str, Any], rel: str, collection: str) -> str | None:
    """The id at the end of the ``rel`` link when it points into ``/<collection>/``."""
    links = resource.get("links")
    if not isinstance(links, list):
        return None
    for link in links:
        href = link.get("href") if isinstance(link, dict) else None
        if isinstance(link, dict) and link.get("rel") == rel and isinstance(href, str):
            _, found, rest = href.partition(f"/{collection}/")
            candidate = rest.split("/", 1)[0].split("?", 1)[0]
            if found and candidate:
                return candidate
    return None


def _payment_identity(resource: Mapping[str, Any], own_id: str) -> tuple[str, tuple[str, ...]]:
    """(payment id, related payment keys) of a capture or an authorization."""
    related_ids = fields.dig(resource, "supplementary_data", "related_ids")
    order_id = fields.optional_text(related_ids, "order_id")
    authorization_id = fields.optional_text(related_ids, "authorization_id")
    payment_id = order_id or authorization_id or own_id
    others = {own_id, authorization_id} - {payment_id, None}
    return payment_id, tuple(sorted(payment_key("paypal", other) for other in others if other))


def _payment_event(webhook: WebhookRecord, document: Mapping[str, Any], status: str) -> PaymentEvent:
    resource = fields.obj(document, "resource")
    payment_id, related = _payment_identity(resource, fields.text(resource, "id"))
    stated = paypal_amount(resource, "amount")
    if stated is None:
        raise ProcessingError("the resource has no amount")
    amount, currency = stated
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=payment_id,
        related_payment_keys=related,
        kind=PAYMENT,
        status=status,
        occurred_at=_time(document, resource),
        amount=amount,
        currency=currency,
    )


def _refund_event(webhook: WebhookRecord, document: Mapping[str, Any]) -> PaymentEvent:
    resource = fields.obj(document, "resource")
    capture_id = _linked_id(resource, "up", "captures")
    if capture_id is None:
        raise ProcessingError("the refund has no up link to its capture")
    stated = paypal_amount(resource, "amount")
    if stated is None:
        raise ProcessingError("the refund has no amount")
    amount, currency = stated
    breakdown = fields.dig(resource, "seller_payable_breakdown")
    total = paypal_amount(breakdown, "total_refunded_amount") if isinstance(breakdown, dict) else None
    if total is not None and total[1] != currency:
        total = None  # a total in another currency cannot be compared with the payment's amount
    status = resource.get("status")
    if not isinstance(status, str) or status not in REFUND_STATUSES:
        raise ProcessingError("the refund has an unknown status")
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=capture_id,
        kind=REFUND,
        status=REFUND_STATUSES[status],
        occurred_at=_time(document, resource),
        currency=currency,
        refund_id=fields.text(resource, "id"),
        refund_amount=amount,
        refunded_total=total[0] if total is not None else None,
    )


def _dispute_event(webhook: WebhookRecord, document: Mapping[str, Any]) -> PaymentEvent:
    resource = fields.obj(document, "resource")
    transactions = resource.get("disputed_transactions")
    transaction_id = None
    if isinstance(transactions, list) and transactions:
        transaction_id = fields.optional_text(transactions[0], "seller_transaction_id")
    if transaction_id is None:
        raise ProcessingError("the dispute names no seller_transaction_id")
    if webhook.event_type == "CUSTOMER.DISPUTE.RESOLVED" or resource.get("status") == "RESOLVED":
        outcome = fields.optional_text(resource, "dispute_outcome", "outcome_code") or "NONE"
        if outcome not in DISPUTE_OUTCOMES:
            raise ProcessingError("the dispute has an unknown outcome")
        status = DISPUTE_OUTCOMES[outcome]
    else:
        status = DISPUTE_OPEN
    stated = paypal_amount(resource, "dispute_amount")
    return PaymentEvent.from_webhook(
        webhook,
        provider_payment_id=transaction_id,
        kind=DISPUTE,
        status=status,
        occurred_at=_time(document, resource),
        currency=stated[1] if stated is not None else None,
        dispute_id=fields.text(resource, "dispute_id"),
    )


def normalize(webhook: WebhookRecord) -> PaymentEvent | None:
    """A stored PayPal event as a PaymentEvent, or None outside the mapping (see the README)."""
    event_type = webhook.event_type
    status = CAPTURE_STATUSES.get(event_type) or AUTHORIZATION_STATUSES.get(event_type)
    if status is not None:
        return _payment_event(webhook, fields.load_object(webhook.payload), status)
    if event_type in REFUND_EVENT_TYPES:
        return _refund_event(webhook, fields.load_object(webhook.payload))
    if event_type.startswith(DISPUTE_EVENT_PREFIX):
        return _dispute_event(webhook, fields.load_object(webhook.payload))
    return None


class PayPalProvider:
    """Verifies PayPal deliveries; ``certificates`` is injectable (tests pass a fake fetcher)."""

    name = "paypal"

    def __init__(self, certificates: paypal_certs.CertificateStore | None = None) -> None:
        self.certificates = (
            certificates if certificates is not None else paypal_certs.DEFAULT_STORE
        )

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        transmission_id = require_header(headers, TRANSMISSION_ID)
        transmission_time = require_header(headers, TRANSMISSION_TIME)
        signature_b64 = require_header(headers, TRANSMISSION_SIG)
        cert_url = require_header(headers, CERT_URL)
        auth_algo = require_header(headers, AUTH_ALGO)
        # No check of transmission_time against source.tolerance_seconds: see the module doc.

        if auth_algo != SUPPORTED_AUTH_ALGO:
            raise InvalidSignature()
        webhook_ids = [webhook_id for webhook_id in source.secrets if webhook_id]
        if not webhook_ids:
            raise ConfigurationError(f"PayPal source '{source.name}' has no webhook id.")
        # Cheap checks first: a garbled signature never causes a certificate fetch.
        signature = _decode_signature(signature_b64)
        policy = paypal_certs.policy_from_options(source.options)

        certificate = self.certificates.certificate(cert_url, policy, now)
        matched = False
        for webhook_id in webhook_ids:  # no early exit: timing does not tell which id matched
            message = signed_message(transmission_id, transmission_time, webhook_id, raw)
            matched |= paypal_certs.verify_rsa_sha256(certificate.public_key, signature, message)
        if not matched:
            raise InvalidSignature()

        try:
            payload = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise MalformedPayload("The body is not valid UTF-8 JSON.") from None
        document = parse_json_object(raw)
        return [
            InboundEvent(
                event_id=required_string(document, "id"),
                event_type=required_string(document, "event_type"),
                payload=payload,
            )
        ]

    def is_payment_event(self, event_type: str) -> bool:
        return event_type.startswith(PAYMENT_EVENT_PREFIXES)

    def normalize(self, webhook: WebhookRecord) -> PaymentEvent | None:
        return normalize(webhook)


PROVIDER = PayPalProvider()
