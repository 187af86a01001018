"""Validating and caching PayPal's message-verification certificate, step three of three.

PayPal signs a webhook with the private key of a certificate whose URL arrives *in the request*
(``PAYPAL-CERT-URL``). Fetching that URL blindly is server-side request forgery, and trusting
whatever it serves lets anyone sign webhooks. Three modules guard against both, in order:
:mod:`.policy`, :mod:`.fetch` and :mod:`.chain`.

Before this module: :mod:`.policy` checks the URL against the source's policy and :mod:`.fetch`
fetches it. Here:

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
   (the oldest entry goes first), and re-checks the chain's validity window on every hit: an
   entry expires with its chain. Because the URL comes from the sender, the store also limits
   what unsigned requests can make it do: a failed fetch or validation is remembered for
   ``FAILURE_TTL_SECONDS`` (the same URL answers the same error without fetching again), and at
   most ``MAX_FETCHES_PER_MINUTE`` fetches are made per container in any 60 s; past that a cache
   miss answers :class:`~chalicelib.errors.DependencyUnavailable` (503: PayPal retries later)
   without fetching. Cached certificates are served regardless of the budget, so a flood of
   made-up certificate ids does not stop deliveries signed with PayPal's current certificate.

Every refusal is :class:`~chalicelib.errors.InvalidSignature` (401) with a message that is safe to
show; an expired or not-yet-valid certificate is a refusal too, not ``SignatureExpired`` (which
is about the signature's timestamp). Bad configuration is
:class:`~chalicelib.errors.ConfigurationError`.

``cryptography`` is imported inside functions only, so importing this module stays cheap.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ConfigurationError, DependencyUnavailable, InvalidSignature, WebhookError
from chalicelib.providers.paypal import messages
from chalicelib.providers.paypal.fetch import Fetcher, UrllibCertFetcher
from chalicelib.providers.paypal.policy import CertPolicy, check_cert_url

if TYPE_CHECKING:  # pragma: no cover
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

CACHE_MAX_ENTRIES = 64
FAILURE_TTL_SECONDS = 60.0
"""How long a failed fetch or validation is answered from memory (a bad URL flood fetches once)."""
FAILURE_MAX_ENTRIES = 256
MAX_FETCHES_PER_MINUTE = 10
"""Fetches per container per 60 s; PayPal rotates its certificate rarely, so a few suffice."""
_BUDGET_WINDOW_SECONDS = 60.0
MIN_RSA_KEY_BITS = 2048
# Configured PEM texts (trust roots, intermediates) are few per process: a small bound suffices.
_PARSE_CACHE_MAX = 8


# --------------------------------------------------------------------------------------------
# Validation (cryptography imported lazily)
# --------------------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def _default_trust_roots_pem() -> str:
    import certifi

    with open(certifi.where(), encoding="ascii") as bundle:
        return bundle.read()


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


@lru_cache(maxsize=_PARSE_CACHE_MAX)
def _load_pem_certificates(pem: str, what: str) -> tuple[x509.Certificate, ...]:
    """Configured PEM certificates (parsed once per text); bad text is a configuration error.

    A ``ConfigurationError`` is raised again on every call: ``lru_cache`` keeps results only.
    """
    from cryptography import x509

    if what == "default":
        return tuple(_load_bundle(pem))
    try:
        return tuple(x509.load_pem_x509_certificates(pem.encode("ascii")))
    except (ValueError, UnicodeEncodeError):
        raise ConfigurationError(messages.BAD_PEM.format(option=what)) from None


@lru_cache(maxsize=_PARSE_CACHE_MAX)
def _anchor_store(trust_roots_pem: str | None) -> Any:
    """The ``cryptography.x509.verification.Store`` of these trust roots (None: certifi's)."""
    from cryptography.x509.verification import Store

    if trust_roots_pem is None:
        roots = _load_pem_certificates(_default_trust_roots_pem(), "default")
    else:
        roots = _load_pem_certificates(trust_roots_pem, "trustRootsPem")
    if not roots:
        raise ConfigurationError(messages.NO_TRUST_ROOT)
    return Store(list(roots))


def _as_datetime(now: float) -> datetime:
    return datetime.fromtimestamp(now, tz=UTC)


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
        raise InvalidSignature(messages.UNTRUSTED) from None
    leaf, fetched_intermediates = fetched[0], fetched[1:]
    configured = (
        _load_pem_certificates(policy.intermediates_pem, "intermediatesPem")
        if policy.intermediates_pem
        else ()
    )
    anchors = _anchor_store(policy.trust_roots_pem)

    try:
        if not _current(leaf, at):
            raise InvalidSignature(messages.NOT_CURRENT)
        # Exact names only: a wildcard SAN would also satisfy the WebPKI name check below.
        candidates = sorted(_leaf_names(leaf) & policy.subjects)
        if not candidates:
            raise InvalidSignature(messages.WRONG_SUBJECT)
        public_key = leaf.public_key()
        if not isinstance(public_key, RSAPublicKey) or public_key.key_size < MIN_RSA_KEY_BITS:
            raise InvalidSignature(messages.UNTRUSTED)

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
            raise InvalidSignature(messages.UNTRUSTED)
        # The verifier checks dates of the certificates it validates; check the whole chain
        # ourselves too, the trust anchor included.
        if not all(_current(certificate, at) for certificate in chain):
            raise InvalidSignature(messages.NOT_CURRENT)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # malformed or exotic certificates
        raise InvalidSignature(messages.UNTRUSTED) from None

    return ValidatedCertificate(
        public_key=public_key,
        not_before=max(certificate.not_valid_before_utc for certificate in chain),
        not_after=min(certificate.not_valid_after_utc for certificate in chain),
        subject=subject,
    )



# --------------------------------------------------------------------------------------------
# Store
# --------------------------------------------------------------------------------------------


class CertificateStore:
    """Checks, fetches, validates and caches PayPal certificates; inject a fake ``fetcher``
    in tests so they never touch the network.

    ``now`` (the receiver's clock, as for the validity dates) also drives the failure cache and
    the fetch budget, so both are deterministic in tests.
    """

    def __init__(
        self,
        fetcher: Fetcher | None = None,
        max_entries: int = CACHE_MAX_ENTRIES,
        failure_ttl_seconds: float = FAILURE_TTL_SECONDS,
        max_fetches_per_minute: int = MAX_FETCHES_PER_MINUTE,
        max_failures: int = FAILURE_MAX_ENTRIES,
    ) -> None:
        self.fetcher: Fetcher = fetcher if fetcher is not None else UrllibCertFetcher()
        self.max_entries = max_entries
        self.failure_ttl_seconds = failure_ttl_seconds
        self.max_fetches_per_minute = max_fetches_per_minute
        self.max_failures = max_failures
        # Insertion-ordered: when full, the oldest entry goes. An entry expires with its chain.
        self._cache: dict[tuple[str, CertPolicy], ValidatedCertificate] = {}
        # (url, policy) -> (until when, the error to raise again); insertion-ordered and bounded.
        self._failures: dict[tuple[str, CertPolicy], tuple[float, WebhookError]] = {}
        self._fetched_at: deque[float] = deque()  # times of the fetches of the last 60 s
        self._lock = threading.Lock()

    def certificate(self, url: str, policy: CertPolicy, now: float) -> ValidatedCertificate:
        """The validated certificate at ``url``, or the errors documented in the module."""
        url = check_cert_url(url, policy)  # before the cache too: a policy may have changed
        key = (url, policy)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                if cached.current(now):
                    return cached
                del self._cache[key]  # expired since (or clock before it): validate afresh
            self._raise_remembered_failure(key, now)
            self._spend_fetch(now)  # raises DependencyUnavailable when the budget is spent
        try:
            validated = validate_certificate_document(self.fetcher(url), policy, now)
        except (InvalidSignature, DependencyUnavailable) as exc:
            with self._lock:
                self._remember_failure(key, now, exc)
            raise
        with self._lock:
            self._cache.pop(key, None)
            self._cache[key] = validated
            while len(self._cache) > self.max_entries:
                del self._cache[next(iter(self._cache))]
        return validated

    def _raise_remembered_failure(self, key: tuple[str, CertPolicy], now: float) -> None:
        remembered = self._failures.get(key)
        if remembered is None:
            return
        until, error = remembered
        if now < until:
            # A new instance of the same class and message: never re-raise a shared object
            # (its traceback would grow with every delivery).
            raise type(error)(error.message)
        del self._failures[key]

    def _remember_failure(self, key: tuple[str, CertPolicy], now: float, error: WebhookError) -> None:
        self._failures.pop(key, None)
        self._failures[key] = (now + self.failure_ttl_seconds, error)
        while len(self._failures) > self.max_failures:
            del self._failures[next(iter(self._failures))]

    def _spend_fetch(self, now: float) -> None:
        """Take one fetch from the per-minute budget, or refuse (503) when none is left."""
        while self._fetched_at and self._fetched_at[0] <= now - _BUDGET_WINDOW_SECONDS:
            self._fetched_at.popleft()
        if len(self._fetched_at) >= self.max_fetches_per_minute:
            raise DependencyUnavailable(messages.FETCH_BUDGET_SPENT)
        self._fetched_at.append(now)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()
            self._failures.clear()
            self._fetched_at.clear()


DEFAULT_STORE = CertificateStore()
"""The process-wide store (real fetcher, in-memory cache shared by every PayPal source)."""
