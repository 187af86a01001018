"""Fetching and validating PayPal's message-verification certificate.

PayPal signs a webhook with the private key of a certificate whose URL arrives *in the request*
(``PAYPAL-CERT-URL``). Fetching that URL blindly is server-side request forgery, and trusting
whatever it serves lets anyone sign webhooks. So, in this order:

1. :func:`check_cert_url` refuses, before any network access, every URL that is not
   ``https://<allow-listed host>/...``: other schemes, userinfo (``https://api.paypal.com@evil/``),
   any explicit port, IP literals, hosts that merely *end* with an allowed name, characters outside
   RFC 3986 (backslashes, spaces, controls, non-ASCII: no parser differentials). The one exception
   is a local development stack (see ``allowLoopbackCertHost`` below).
2. :class:`UrllibCertFetcher` fetches it with a 5 s timeout, a 64 KiB cap, no redirects (a
   redirect is a refusal), no environment proxies and only the http/https handlers; TLS is
   verified against certifi's bundle. A network failure, a timeout or a 5xx/429 answer raises
   :class:`~chalicelib.errors.DependencyUnavailable` (503: PayPal retries); any other non-200
   answer is a refusal (:class:`~chalicelib.errors.InvalidSignature`).
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

Options read from ``SourceConfig.options`` (see :func:`policy_from_options`):

``certHosts``
    List of host names the certificate URL may point at (exact, case-insensitive match).
    Default ``["api.paypal.com", "api.sandbox.paypal.com"]``.
``certSubjects``
    List of names the leaf certificate must carry (subject CN or DNS SAN, exact match).
    Default ``["messageverificationcerts.paypal.com",
    "messageverificationcerts.sandbox.paypal.com"]``.
``trustRootsPem``
    PEM text of the trust anchors the chain must end at. Default: certifi's bundle.
``intermediatesPem``
    Optional PEM text of extra intermediate certificates, used when PayPal's document does not
    carry the whole chain.
``allowLoopbackCertHost``
    ``true`` lets a loopback host (127.0.0.0/8, ``localhost``, ``::1``) that is *also listed in
    certHosts* be used, with any port and over ``http`` or ``https``, but only when the
    environment variable ``STAGE`` equals ``local`` (a local stack serving a test certificate).
    In every other stage loopback and IP hosts are refused even when listed.

``cryptography`` is imported inside functions only, so importing this module stays cheap.
"""

from __future__ import annotations

import http.client
import ipaddress
import os
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from chalicelib.errors import ConfigurationError, DependencyUnavailable, InvalidSignature

if TYPE_CHECKING:  # pragma: no cover
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

DEFAULT_CERT_HOSTS: tuple[str, ...] = ("api.paypal.com", "api.sandbox.paypal.com")
DEFAULT_CERT_SUBJECTS: tuple[str, ...] = (
    "messageverificationcerts.paypal.com",
    "messageverificationcerts.sandbox.paypal.com",
)
FETCH_TIMEOUT_SECONDS = 5.0
MAX_CERT_DOCUMENT_BYTES = 64 * 1024
MAX_CERT_URL_LENGTH = 2048
CACHE_MAX_ENTRIES = 64
MIN_RSA_KEY_BITS = 2048
LOCAL_STAGE = "local"

# RFC 3986 characters only (unreserved, reserved and '%'): no spaces, backslashes, controls or
# non-ASCII, which different URL parsers read differently.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")

Fetcher = Callable[[str], bytes]
"""Fetches a certificate document: ``fetcher(url) -> bytes`` (raises the errors above)."""

_REFUSED_URL = "The certificate URL is not allowed."
_UNTRUSTED = "The signing certificate is not trusted."
_NOT_CURRENT = "The signing certificate is not valid at this time."
_WRONG_SUBJECT = "The signing certificate is not a PayPal message-verification certificate."
_UNAVAILABLE = "The signing certificate could not be fetched right now; retry later."


# --------------------------------------------------------------------------------------------
# Configuration
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertPolicy:
    """What a source accepts as PayPal's certificate (hashable: part of the cache key)."""

    hosts: frozenset[str] = frozenset(DEFAULT_CERT_HOSTS)
    subjects: frozenset[str] = frozenset(DEFAULT_CERT_SUBJECTS)
    trust_roots_pem: str | None = None
    """PEM text of the trust anchors; ``None`` means certifi's bundle."""
    intermediates_pem: str = ""
    allow_loopback: bool = False
    """Loopback hosts allowed: only ever true when ``STAGE == "local"`` (see the module doc)."""


def _name_list(
    options: Mapping[str, Any], key: str, default: tuple[str, ...], valid: Callable[[str], bool]
) -> frozenset[str]:
    value = options.get(key)
    if value is None:
        return frozenset(default)
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise ConfigurationError(f"PayPal option '{key}' must be a non-empty list of names.")
    names = set()
    for item in value:
        name = item.strip().lower() if isinstance(item, str) else ""
        if not name or not valid(name):
            raise ConfigurationError(f"PayPal option '{key}' must list bare host names.")
        names.add(name)
    return frozenset(names)


def _pem_option(options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or "-----BEGIN CERTIFICATE-----" not in value:
        raise ConfigurationError(f"PayPal option '{key}' must be PEM certificate text.")
    return value


def policy_from_options(options: Mapping[str, Any]) -> CertPolicy:
    """The certificate policy of a source, from its ``options`` (documented in the module doc).

    Reads the ``STAGE`` environment variable each time, so the loopback allowance can never
    outlive a change of stage.
    """
    allow_loopback = options.get("allowLoopbackCertHost", False)
    if not isinstance(allow_loopback, bool):
        raise ConfigurationError("PayPal option 'allowLoopbackCertHost' must be a boolean.")
    return CertPolicy(
        # Hosts: DNS names, or IP literals/"localhost" (refused at request time unless loopback
        # in the local stage). Subjects: DNS names only (no wildcards).
        hosts=_name_list(
            options,
            "certHosts",
            DEFAULT_CERT_HOSTS,
            lambda host: _is_dns_name(host) or _is_ip_literal(host) or _is_loopback(host),
        ),
        subjects=_name_list(options, "certSubjects", DEFAULT_CERT_SUBJECTS, _is_dns_name),
        trust_roots_pem=_pem_option(options, "trustRootsPem"),
        intermediates_pem=_pem_option(options, "intermediatesPem") or "",
        allow_loopback=allow_loopback and os.environ.get("STAGE") == LOCAL_STAGE,
    )


# --------------------------------------------------------------------------------------------
# URL checks (no network)
# --------------------------------------------------------------------------------------------


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_dns_name(host: str) -> bool:
    labels = host.split(".")
    return (
        len(host) <= 253
        and len(labels) >= 2
        and all(_HOST_LABEL.fullmatch(label) for label in labels)
        and not labels[-1].isdigit()  # "1.2.3.4"-like and numeric forms such as "0x7f.1"
    )


def check_cert_url(url: object, policy: CertPolicy) -> str:
    """The URL to fetch, or :class:`InvalidSignature` when it must not be fetched at all."""
    if not isinstance(url, str) or not 0 < len(url) <= MAX_CERT_URL_LENGTH:
        raise InvalidSignature(_REFUSED_URL)
    if not _URL_CHARS.fullmatch(url):
        raise InvalidSignature(_REFUSED_URL)
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port  # ValueError when not a number in 0..65535
    except ValueError:
        raise InvalidSignature(_REFUSED_URL) from None
    scheme = parts.scheme.lower()
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise InvalidSignature(_REFUSED_URL)
    if not host or host not in policy.hosts:  # exact match: "api.paypal.com.evil" is not listed
        raise InvalidSignature(_REFUSED_URL)

    if _is_loopback(host) or _is_ip_literal(host):
        # Only a local stack may use a loopback host (listed, STAGE=local, option set); it may
        # serve over plain http on any port. A non-loopback IP literal is never allowed.
        if not (policy.allow_loopback and _is_loopback(host)):
            raise InvalidSignature(_REFUSED_URL)
        if scheme not in ("https", "http"):
            raise InvalidSignature(_REFUSED_URL)
        return url

    if scheme != "https" or port is not None or not _is_dns_name(host):
        raise InvalidSignature(_REFUSED_URL)
    if parts.netloc.lower() != host:  # nothing but the bare host name (no ":", no brackets)
        raise InvalidSignature(_REFUSED_URL)
    return url


# --------------------------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------------------------


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: the 3xx reaches the error handler and becomes a refusal."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ANN001, ANN201
        return None


class UrllibCertFetcher:
    """Fetches a certificate document with ``urllib``: short timeout, size cap, no redirects.

    The opener is built by hand with only the handlers needed (no ``file:``/``ftp:``/``data:``
    handlers, an empty ``ProxyHandler`` so ``HTTP(S)_PROXY`` in the environment is ignored). The
    caller must have passed the URL through :func:`check_cert_url` first.
    """

    def __init__(
        self,
        timeout_seconds: float = FETCH_TIMEOUT_SECONDS,
        max_bytes: int = MAX_CERT_DOCUMENT_BYTES,
    ) -> None:
        self.timeout_seconds = timeout_seconds
        self.max_bytes = max_bytes
        self._opener: urllib.request.OpenerDirector | None = None

    def _build_opener(self) -> urllib.request.OpenerDirector:
        import ssl

        import certifi

        context = ssl.create_default_context(cafile=certifi.where())
        opener = urllib.request.OpenerDirector()
        for handler in (
            urllib.request.ProxyHandler({}),
            urllib.request.UnknownHandler(),
            urllib.request.HTTPHandler(),
            urllib.request.HTTPSHandler(context=context),
            urllib.request.HTTPDefaultErrorHandler(),
            _RefuseRedirects(),
            urllib.request.HTTPErrorProcessor(),
        ):
            opener.add_handler(handler)
        return opener

    def __call__(self, url: str) -> bytes:
        if urllib.parse.urlsplit(url).scheme.lower() not in ("https", "http"):
            raise InvalidSignature(_REFUSED_URL)  # defence in depth; check_cert_url runs first
        if self._opener is None:
            self._opener = self._build_opener()
        request = urllib.request.Request(
            url,
            headers={"Accept": "application/x-pem-file, */*", "User-Agent": "payment-webhooks"},
        )
        deadline = time.monotonic() + self.timeout_seconds
        try:
            with self._opener.open(request, timeout=self.timeout_seconds) as response:
                if response.status != 200:
                    raise InvalidSignature(_UNTRUSTED)
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.strip().isdigit():
                    if int(declared) > self.max_bytes:
                        raise InvalidSignature(_UNTRUSTED)
                chunks: list[bytes] = []
                size = 0
                while True:
                    if time.monotonic() > deadline:
                        raise DependencyUnavailable(_UNAVAILABLE)
                    chunk = response.read1(8192)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise InvalidSignature(_UNTRUSTED)
                    chunks.append(chunk)
                return b"".join(chunks)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code >= 500 or exc.code == 429:
                raise DependencyUnavailable(_UNAVAILABLE) from None
            # 3xx (a redirect is never followed) and other 4xx: not a certificate we accept.
            raise InvalidSignature(_UNTRUSTED) from None
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            # DNS, connection, TLS, timeout and HTTP protocol errors are not bad signatures.
            raise DependencyUnavailable(_UNAVAILABLE) from exc


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
        raise InvalidSignature(_UNTRUSTED) from None
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
            raise InvalidSignature(_UNTRUSTED)

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
            raise InvalidSignature(_UNTRUSTED)
        # The verifier checks dates of the certificates it validates; check the whole chain
        # ourselves too, the trust anchor included.
        if not all(_current(certificate, at) for certificate in chain):
            raise InvalidSignature(_NOT_CURRENT)
    except (ValueError, TypeError, UnsupportedAlgorithm):  # malformed or exotic certificates
        raise InvalidSignature(_UNTRUSTED) from None

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
