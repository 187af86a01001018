"""Fetching PayPal's certificate document, step two of three (after :mod:`.policy`).

2. :class:`UrllibCertFetcher` fetches it with a 5 s timeout, a 64 KiB cap, no redirects (a
   redirect is a refusal), no environment proxies and only the http/https handlers; TLS is
   verified against certifi's bundle. A network failure, a timeout or a 5xx/429 answer raises
   :class:`~chalicelib.errors.DependencyUnavailable` (503: PayPal retries); any other non-200
   answer is a refusal (:class:`~chalicelib.errors.InvalidSignature`).
"""

from __future__ import annotations

import http.client
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import IO

from chalicelib.errors import DependencyUnavailable, InvalidSignature
from chalicelib.providers.paypal import messages

FETCH_TIMEOUT_SECONDS = 5.0
MAX_CERT_DOCUMENT_BYTES = 64 * 1024

Fetcher = Callable[[str], bytes]
"""Fetches a certificate document: ``fetcher(url) -> bytes`` (raises the errors above)."""


# --------------------------------------------------------------------------------------------
# Fetching
# --------------------------------------------------------------------------------------------


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Never follow a redirect: the 3xx reaches the error handler and becomes a refusal."""

    def redirect_request(
        self, req: urllib.request.Request, fp: IO[bytes], code: int, msg: str, headers: http.client.HTTPMessage,
        newurl: str,
    ) -> urllib.request.Request | None:
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
            raise InvalidSignature(messages.REFUSED_URL)  # defence in depth; check_cert_url runs first
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
                    raise InvalidSignature(messages.UNTRUSTED)
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.strip().isdigit():
                    if int(declared) > self.max_bytes:
                        raise InvalidSignature(messages.UNTRUSTED)
                chunks: list[bytes] = []
                size = 0
                while True:
                    if time.monotonic() > deadline:
                        raise DependencyUnavailable(messages.UNAVAILABLE)
                    chunk = response.read1(8192)
                    if not chunk:
                        break
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise InvalidSignature(messages.UNTRUSTED)
                    chunks.append(chunk)
                return b"".join(chunks)
        except urllib.error.HTTPError as exc:
            exc.close()
            if exc.code >= 500 or exc.code == 429:
                raise DependencyUnavailable(messages.UNAVAILABLE) from None
            # 3xx (a redirect is never followed) and other 4xx: not a certificate we accept.
            raise InvalidSignature(messages.UNTRUSTED) from None
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            # DNS, connection, TLS, timeout and HTTP protocol errors are not bad signatures.
            raise DependencyUnavailable(messages.UNAVAILABLE) from exc
