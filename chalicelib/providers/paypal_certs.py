"""Validating and caching PayPal's message-verification certificate, step three of three.

PayPal signs a webhook with the private key of a certificate whose URL arrives *in the request*
(``PAYPAL-CERT-URL``). Fetching that URL blindly is server-side request forgery, and trusting
whatever it serves lets anyone sign webhooks. Three modules guard against both, in order:
:mod:`paypal_policy`, :mod:`paypal_fetch` and :mod:`paypal_certs`.

Before this module: :mod:`paypal_policy` checks the URL against the source's policy and
:mod:`paypal_fetch` fetches it. Here:

3. :func:`validate_certificate_document` parses the PEM document (the leaf, optionally followed by
   intermediates) and requires: every certificate of the chain within its validity dates as of
   ``now``; the leaf naming one of the allowed message-verification subjects *exactly* as its
   subject CN or a DNS SAN (a wildcard such as ``*.paypal.com`` does not count); a path
   leaf -> intermediates (fetched + configured) -> a configured trust root, checked by
   ``cryptography.x509.verification`` under its WebPKI server-certificate rules for that name
   (signatures, basic constraints, key usage, EKU, name constraints, path length; this also
   means the name must be in the leaf's SAN, which every publicly issued certificate has); and
   an RSA key of at least 2048 bits. Intermediates are never fetched from AIA URLs (that would be
   another request-controlled fetch): configure missing ones with ``intermediatesPem``.
4. :class:`CertificateStore` caches validated certificates in memory, keyed by URL *and* policy
   (a certificate accepted for one source's policy is not reused for a stricter one), bounded
   (LRU), and re-checks the chain's validity window on every hit.

Every refusal is :class:`~chalicelib.errors.InvalidSignature` (401) with a message that is safe to
show; an expired or not-yet-valid certificate is a refusal too, not ``SignatureExpired`` (which
is about the signature's timestamp). Bad configuration is
:class:`~chalicelib.errors.ConfigurationError`.

``cryptography`` is imported inside functions only, so importing this module stays cheap.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ConfigurationError, InvalidSignature
from chalicelib.providers.paypal_fetch import Fetcher, UrllibCertFetcher
from chalicelib.providers.paypal_policy import (
    UNTRUSTED,
    CertPolicy,
    check_cert_url,
    policy_from_options,
)

if TYPE_CHECKING:  # pragma: no cover
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

CACHE_MAX_ENTRIES = 64
MIN_RSA_KEY_BITS = 2048

_NOT_CURRENT = "The signing certificate is not valid at this time."
_WRONG_SUBJECT = "The signing certificate is not a PayPal message-verification certificate."

__all__ = ["CertPolicy", "CertificateStore", "policy_from_options", "validate_certificate_document"]


# --------------------------------------------------------------------------------------------
# Validation (cryptography imported lazily)
# --------------------------------------------------------------------------------------------

_certifi_pem: str | None = None
_anchor_stores: OrderedDict[str | None, Any] = OrderedDict()
_parsed_pem: OrderedDict[str, list[Any]] = OrderedDict()
_parse_lock = threading.Lock()
_PARSE_CACHE_MAX = 8


def _default_trust_roots_pem() -> str:
    global _certifi_pem
    if _certifi_pem is None:
        import certifi

        with open(certifi.where(), encoding="ascii") as bundle:
            _certifi_pem = bundle.read()
    return _certifi_pem


_PEM_BLOCK = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)


def _load_bundle(pem: str) -> list[x509.Certificate]:
    """certifi's bundle, one certificate at a time: a few of its old roots have non-positive
    serial numbers, which cryptography warns about today and may refuse tomorrow; skipping them
    must not take every other root down with them."""
    import warnings

    from cryptography import x509
    from cryptography.utils import CryptographyDeprecationWarning

    certificates = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CryptographyDeprecationWarning)
        for block in _PEM_BLOCK.findall(pem):
            try:
                certificates.append(x509.load_pem_x509_certificate(block.encode("ascii")))
            except (ValueError, UnicodeEncodeError):
                continue
    return certificates


def _load_pem_certificates(pem: str, what: str) -> list[x509.Certificate]:
    """Configured PEM certificates (parsed once per text); bad text is a configuration error."""
    from cryptography import x509

    with _parse_lock:
        cached = _parsed_pem.get(pem)
        if cached is not None:
            _parsed_pem.move_to_end(pem)
            return cached
    if what == "default":
        certificates = _load_bundle(pem)
    else:
        try:
            certificates = x509.load_pem_x509_certificates(pem.encode("ascii"))
        except (ValueError, UnicodeEncodeError):
            raise ConfigurationError(f"PayPal {what} is not valid PEM certificate text.") from None
    with _parse_lock:
        _parsed_pem[pem] = certificates
        while len(_parsed_pem) > _PARSE_CACHE_MAX:
            _parsed_pem.popitem(last=False)
    return certificates


def _anchor_store(policy: CertPolicy) -> Any:
    """The ``cryptography.x509.verification.Store`` of the policy's trust roots (cached)."""
    from cryptography.x509.verification import Store

    with _parse_lock:
        store = _anchor_stores.get(policy.trust_roots_pem)
        if store is not None:
            _anchor_stores.move_to_end(policy.trust_roots_pem)
            return store
    pem = policy.trust_roots_pem
    if pem is None:
        roots = _load_pem_certificates(_default_trust_roots_pem(), "default")
    else:
        roots = _load_pem_certificates(pem, "trustRootsPem")
    if not roots:
        raise ConfigurationError("PayPal trustRootsPem holds no certificate.")
    store = Store(roots)
    with _parse_lock:
        _anchor_stores[policy.trust_roots_pem] = store
        while len(_anchor_stores) > _PARSE_CACHE_MAX:
            _anchor_stores.popitem(last=False)
    return store


def _as_datetime(now: float) -> datetime:
    return datetime.fromtimestamp(now, tz=timezone.utc)


def _current(certificate: x509.Certificate, at: datetime) -> bool:
    return certificate.not_valid_before_utc <= at <= certificate.not_valid_after_utc


def _leaf_names(leaf: x509.Certificate) -> set[str]:
    """The leaf's subject CN values and DNS SAN entries, lower-cased."""
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    names = {
        str(attribute.value).lower()
        for attribute in leaf.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    }
    try:
        san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return names
    names.update(name.lower() for name in san.get_values_for_type(x509.DNSName))
    return names


@dataclass(frozen=True)
class ValidatedCertificate:
    """A leaf that passed every check, and the window in which its whole chain is valid."""

    public_key: RSAPublicKey
    not_before: datetime
    not_after: datetime
    subject: str

    def current(self, now: float) -> bool:
        return self.not_before <= _as_datetime(now) <= self.not_after


def validate_certificate_document(
    document: bytes, policy: CertPolicy, now: float
) -> ValidatedCertificate:
    """Validate a fetched PEM document (leaf first, then any intermediates) as of ``now``."""
    from cryptography import x509
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
    from cryptography.x509.verification import PolicyBuilder, VerificationError

    at = _as_datetime(now)
    try:
        fetched = x509.load_pem_x509_certificates(document)
    except ValueError:
        raise InvalidSignature(UNTRUSTED) from None
    leaf, fetched_intermediates = fetched[0], fetched[1:]
    configured = (
        _load_pem_certificates(policy.intermediates_pem, "intermediatesPem")
        if policy.intermediates_pem
        else []
    )
    anchors = _anchor_store(policy)

    try:
        if not _current(leaf, at):
            raise InvalidSignature(_NOT_CURRENT)
        # Exact names only: a wildcard SAN would also satisfy the WebPKI name check below.
        candidates = sorted(_leaf_names(leaf) & policy.subjects)
        if not candidates:
            raise InvalidSignature(_WRONG_SUBJECT)
        public_key = leaf.public_key()
        if not isinstance(public_key, RSAPublicKey) or public_key.key_size < MIN_RSA_KEY_BITS:
            raise InvalidSignature(UNTRUSTED)

        chain: list[x509.Certificate] | None = None
        subject = ""
        for name in candidates:
            verifier = (
                PolicyBuilder().store(anchors).time(at).build_server_verifier(x509.DNSName(name))
            )
            try:
                chain = verifier.verify(leaf, [*fetched_intermediates, *configured])
            except VerificationError:
                continue
            subject = name
            break
        if chain is None:
            raise InvalidSignature(UNTRUSTED)
        # The verifier checks dates of the certificates it validates; check the whole chain
        # ourselves too, the trust anchor included.
        if not all(_current(certificate, at) for certificate in chain):
            raise InvalidSignature(_NOT_CURRENT)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # malformed or exotic certificates
        raise InvalidSignature(UNTRUSTED) from None

    return ValidatedCertificate(
        public_key=public_key,
        not_before=max(certificate.not_valid_before_utc for certificate in chain),
        not_after=min(certificate.not_valid_after_utc for certificate in chain),
        subject=subject,
    )


def verify_rsa_sha256(public_key: RSAPublicKey, signature: bytes, message: bytes) -> bool:
    """RSASSA-PKCS1-v1_5 with SHA-256: whether ``signature`` signs ``message``."""
    from cryptography.exceptions import InvalidSignature as BadSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    try:
        public_key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except BadSignature:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Store
# --------------------------------------------------------------------------------------------


class CertificateStore:
    """Checks, fetches, validates and caches PayPal certificates; inject a fake ``fetcher``
    in tests so they never touch the network."""

    def __init__(self, fetcher: Fetcher | None = None, max_entries: int = CACHE_MAX_ENTRIES):
        self.fetcher: Fetcher = fetcher if fetcher is not None else UrllibCertFetcher()
        self.max_entries = max_entries
        self._cache: OrderedDict[tuple[str, CertPolicy], ValidatedCertificate] = OrderedDict()
        self._lock = threading.Lock()

    def certificate(self, url: str, policy: CertPolicy, now: float) -> ValidatedCertificate:
        """The validated certificate at ``url``, or the errors documented in the module."""
        url = check_cert_url(url, policy)  # before the cache too: a policy may have changed
        key = (url, policy)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                if cached.current(now):
                    self._cache.move_to_end(key)
                    return cached
                del self._cache[key]  # expired since (or clock before it): validate afresh
        validated = validate_certificate_document(self.fetcher(url), policy, now)
        with self._lock:
            self._cache[key] = validated
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return validated

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()


DEFAULT_STORE = CertificateStore()
"""The process-wide store (real fetcher, in-memory cache shared by every PayPal source)."""
