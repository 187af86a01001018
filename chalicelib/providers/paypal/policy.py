"""PayPal certificate policy: which certificate URLs and names a source accepts.

PayPal signs a webhook with the private key of a certificate whose URL arrives *in the request*
(``PAYPAL-CERT-URL``). Fetching that URL blindly is server-side request forgery, and trusting
whatever it serves lets anyone sign webhooks. Three modules guard against both, in order:
:mod:`.policy`, :mod:`.fetch` and :mod:`.chain`.

1. :func:`check_cert_url` refuses, before any network access, every URL that is not exactly
   ``https://<allow-listed host>/v1/notifications/certs/CERT-<id>`` (the only path PayPal serves
   its certificates at; ``<id>`` is letters, digits and single hyphens): other schemes, userinfo
   (``https://api.paypal.com@evil/``), any explicit port, IP literals, hosts that merely *end* with
   an allowed name, any other path, a query or a fragment (even an empty ``?`` or ``#``), characters
   outside RFC 3986 (backslashes, spaces, controls, non-ASCII: no parser differentials). Pinning the
   path means a sender cannot make us fetch arbitrary resources of an allowed host, nor mint
   endless distinct URLs for the same certificate (each would be a cache miss). The one exception
   is a local development stack (see ``allowLoopbackCertHost`` below), whose scheme and port are
   free but whose path is pinned the same way.

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
    certHosts* be used, with any port and over ``http`` or ``https``, but only when the source is
    served in the ``local`` stage (``SourceConfig.stage``, from the settings: a local stack
    serving a test certificate). In every other stage loopback and IP hosts are refused even when
    listed.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib.errors import ConfigurationError, InvalidSignature
from chalicelib.providers.paypal import messages

DEFAULT_CERT_HOSTS: tuple[str, ...] = ("api.paypal.com", "api.sandbox.paypal.com")
DEFAULT_CERT_SUBJECTS: tuple[str, ...] = (
    "messageverificationcerts.paypal.com",
    "messageverificationcerts.sandbox.paypal.com",
)
MAX_CERT_URL_LENGTH = 2048
LOCAL_STAGE = "local"

# RFC 3986 characters only (unreserved, reserved and '%'): no spaces, backslashes, controls or
# non-ASCII, which different URL parsers read differently.
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_HOST_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")
# PayPal's certificate path, e.g. /v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77. No dots
# (no "..", no extensions), no percent-escapes, no ";" parameters, no empty or repeated hyphens.
CERT_PATH = re.compile(r"/v1/notifications/certs/CERT-[A-Za-z0-9]{1,64}(?:-[A-Za-z0-9]{1,64}){0,7}")



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
    """Loopback hosts allowed: only ever true in the ``local`` stage (see the module doc)."""


def _name_list(
    options: Mapping[str, Any], key: str, default: tuple[str, ...], valid: Callable[[str], bool]
) -> frozenset[str]:
    value = options.get(key)
    if value is None:
        return frozenset(default)
    if isinstance(value, (str, bytes)) or not isinstance(value, (list, tuple)) or not value:
        raise ConfigurationError(messages.NOT_A_NAME_LIST.format(option=key))
    names = set()
    for item in value:
        name = item.strip().lower() if isinstance(item, str) else ""
        if not name or not valid(name):
            raise ConfigurationError(messages.NOT_BARE_HOST_NAMES.format(option=key))
        names.add(name)
    return frozenset(names)


def _pem_option(options: Mapping[str, Any], key: str) -> str | None:
    value = options.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or "-----BEGIN CERTIFICATE-----" not in value:
        raise ConfigurationError(messages.NOT_PEM.format(option=key))
    return value


def policy_from_options(options: Mapping[str, Any], stage: str) -> CertPolicy:
    """The certificate policy of a source, from its ``options`` (documented in the module doc)
    and the ``stage`` it is served in (only ``local`` may allow a loopback host)."""
    allow_loopback = options.get("allowLoopbackCertHost", False)
    if not isinstance(allow_loopback, bool):
        raise ConfigurationError(messages.NOT_A_BOOLEAN.format(option="allowLoopbackCertHost"))
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
        allow_loopback=allow_loopback and stage == LOCAL_STAGE,
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
    """The URL to fetch, or :class:`InvalidSignature` when it must not be fetched at all.

    The URL returned is canonical (scheme and host lower-case): it is also the cache key, and
    ``HTTPS://API.PayPal.com/...`` must not be a fresh fetch of the same certificate.
    """
    if not isinstance(url, str) or not 0 < len(url) <= MAX_CERT_URL_LENGTH:
        raise InvalidSignature(messages.REFUSED_URL)
    if not _URL_CHARS.fullmatch(url):
        raise InvalidSignature(messages.REFUSED_URL)
    try:
        parts = urllib.parse.urlsplit(url)
        host = parts.hostname or ""
        port = parts.port  # ValueError when not a number in 0..65535
    except ValueError:
        raise InvalidSignature(messages.REFUSED_URL) from None
    scheme = parts.scheme.lower()
    # The path is pinned for every host, loopback included; "?" and "#" are refused even when
    # urlsplit would see an empty query or fragment.
    if "?" in url or "#" in url or not CERT_PATH.fullmatch(parts.path):
        raise InvalidSignature(messages.REFUSED_URL)
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise InvalidSignature(messages.REFUSED_URL)
    if not host or host not in policy.hosts:  # exact match: "api.paypal.com.evil" is not listed
        raise InvalidSignature(messages.REFUSED_URL)

    if _is_loopback(host) or _is_ip_literal(host):
        # Only a local stack may use a loopback host (listed, local stage, option set); it may
        # serve over plain http on any port. A non-loopback IP literal is never allowed.
        if not (policy.allow_loopback and _is_loopback(host)):
            raise InvalidSignature(messages.REFUSED_URL)
        if scheme not in ("https", "http"):
            raise InvalidSignature(messages.REFUSED_URL)
        return f"{scheme}://{parts.netloc.lower()}{parts.path}"

    if scheme != "https" or port is not None or not _is_dns_name(host):
        raise InvalidSignature(messages.REFUSED_URL)
    if parts.netloc.lower() != host:  # nothing but the bare host name (no ":", no brackets)
        raise InvalidSignature(messages.REFUSED_URL)
    return f"https://{host}{parts.path}"
