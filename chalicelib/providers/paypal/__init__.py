"""PayPal: the provider as the receiver and the processor see it.

The modules of this package, in the order a delivery meets them: :mod:`.signature` (what PayPal
signs and the RSA check), :mod:`.policy` (which certificate URLs may be fetched at all),
:mod:`.fetch` (fetching one), :mod:`.chain` (validating and caching it), :mod:`.normalize` (the
mapping to PaymentEvents, imported only when an event is processed), with :mod:`.window` bounding
the transmission time (``toleranceSeconds``, 4 days by default for PayPal sources). Every text a refusal or a
configuration error may show is in :mod:`.messages`. ``cryptography`` is only imported (by
``chain`` and ``signature``) when a delivery is verified.

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
    the source is served in the ``local`` stage (``SourceConfig.stage``); ignored in every other stage.
``confirmWithApi``
    ``true``: each capture or refund event is confirmed with PayPal's API (``GET
    /v1/notifications/webhooks-events/{id}``, the source's ``api`` client credentials) before it
    is stored; a mismatch is refused and alerted (:mod:`.events_api`, docs/RECONCILIATION.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from chalicelib.errors import ConfigurationError, InvalidSignature
from chalicelib.providers._helpers import (
    NormalizedOnFirstUse,
    decode_text,
    parse_json_object,
    require_header,
    required_string,
)
from chalicelib.providers.contract import Acknowledgement, InboundEvent, SourceConfig
from chalicelib.providers.paypal import messages
from chalicelib.providers.paypal.chain import DEFAULT_STORE, CertificateStore
from chalicelib.providers.paypal.policy import policy_from_options
from chalicelib.providers.paypal.signature import (
    AUTH_ALGO,
    CERT_URL,
    SUPPORTED_AUTH_ALGO,
    TRANSMISSION_ID,
    TRANSMISSION_SIG,
    TRANSMISSION_TIME,
    decode_signature,
    signed_message,
    verify_rsa_sha256,
)
from chalicelib.providers.paypal.window import check_transmission_time, parse_transmission_time

OPTIONS: dict[str, str] = {
    "certHosts": "hosts the certificate URL may use, exact match",
    "certSubjects": "names the leaf certificate must carry exactly (subject CN or DNS SAN)",
    "trustRootsPem": "PEM text of the trust anchors (default: certifi's bundle)",
    "intermediatesPem": "PEM text of extra intermediate certificates (never fetched)",
    "allowLoopbackCertHost": "true: a listed loopback host is allowed in the local stage only",
    "confirmWithApi": "true: captures and refunds are confirmed with PayPal's API before they are stored",
}


class PayPalProvider(NormalizedOnFirstUse):
    """Verifies PayPal deliveries; ``certificates`` is injectable (tests pass a fake fetcher)."""

    name = "paypal"
    signature_headers: tuple[str, ...] = (TRANSMISSION_SIG,)
    acknowledgement: Acknowledgement | None = None
    options: Mapping[str, str] = MappingProxyType(OPTIONS)

    def __init__(self, certificates: CertificateStore | None = None) -> None:
        self.certificates = (
            certificates if certificates is not None else DEFAULT_STORE
        )

    def verify(
        self, raw: bytes, headers: Mapping[str, str], source: SourceConfig, now: float
    ) -> list[InboundEvent]:
        transmission_id = require_header(headers, TRANSMISSION_ID)
        transmission_time = require_header(headers, TRANSMISSION_TIME)
        signature_b64 = require_header(headers, TRANSMISSION_SIG)
        cert_url = require_header(headers, CERT_URL)
        auth_algo = require_header(headers, AUTH_ALGO)
        # Parsed before any fetch (a time that cannot be read is never in the window); checked
        # only once the signature matched, so SignatureExpired means "authentic but stale".
        transmitted_at = parse_transmission_time(transmission_time)

        if auth_algo != SUPPORTED_AUTH_ALGO:
            raise InvalidSignature()
        webhook_ids = [webhook_id for webhook_id in source.secrets if webhook_id]
        if not webhook_ids:
            raise ConfigurationError(messages.NO_WEBHOOK_ID.format(source=source.name))
        # Cheap checks first: a garbled signature never causes a certificate fetch.
        signature = decode_signature(signature_b64)
        policy = policy_from_options(source.options, source.stage)

        certificate = self.certificates.certificate(cert_url, policy, now)
        matched = False
        for webhook_id in webhook_ids:  # no early exit: timing does not tell which id matched
            message = signed_message(transmission_id, transmission_time, webhook_id, raw)
            matched |= verify_rsa_sha256(certificate.public_key, signature, message)
        if not matched:
            raise InvalidSignature()
        # The CRC32 in the signed message does not bind the body: a captured transmission must
        # expire, and ingest admits one body per transmission id (InboundEvent.transmission_id).
        check_transmission_time(transmitted_at, now, source.tolerance_seconds)

        payload = decode_text(raw)  # the one decoding rule (strict UTF-8, no BOM), then one parse
        document = parse_json_object(payload)
        if source.options.get("confirmWithApi") is True:
            # Only for sources that ask: the receiver's cold start never imports the API client.
            from chalicelib.providers.paypal.events_api import confirm_delivery, moves_money

            if moves_money(str(document.get("event_type"))):
                confirm_delivery(source, document)
        return [
            InboundEvent(
                event_id=required_string(document, "id"),
                event_type=required_string(document, "event_type"),
                payload=payload,
                transmission_id=transmission_id,
                # The RSA-signed transmission time, not the body's ``create_time``: the body is
                # bound only by a CRC32, so a time in it proves nothing (docs/RELIABILITY.md).
                signed_created_at=transmitted_at,
            )
        ]


PROVIDER = PayPalProvider()
