"""A small JSON-over-HTTPS client for the providers' events APIs (urllib: no SDK in the package).

The official SDKs were measured against this need (three GET endpoints, one POST for PayPal's
token): ``stripe`` 16.1 alone is 31 MB installed and took 1.1-1.2 s to import on the 2-core dev
machine (``python -X importtime -c "import stripe"``; urllib.request: 0.26 s), far over the package
and cold-start budgets for four calls. Every failure becomes :class:`ProviderApiError` with a safe reason (a status
code or an error kind), never the URL's query, a header or the response body: the reason is logged.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any

DEFAULT_TIMEOUT_SECONDS = 10.0
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
"""A page of 100 events is well under a megabyte; more is not an answer we can use."""


class ProviderApiError(Exception):
    """The provider's API did not answer usably: the run keeps the cursor and tries again later."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


Transport = Callable[[urllib.request.Request, float], tuple[int, bytes]]
"""``(request, timeout) -> (status, body)``; tests pass none and talk to local servers."""


def _urllib_transport(request: urllib.request.Request, timeout: float) -> tuple[int, bytes]:
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (https/http only, checked)
        return int(response.status), response.read(MAX_RESPONSE_BYTES + 1)


class JsonClient:
    def __init__(self, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS, transport: Transport | None = None) -> None:
        self._timeout = timeout_seconds
        self._transport = transport or _urllib_transport

    def request(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes | None = None,
    ) -> Any:
        """The decoded JSON answer of a 2xx; :class:`ProviderApiError` for anything else."""
        if not url.startswith(("https://", "http://")):
            raise ProviderApiError("the API base URL is not http(s)")
        request = urllib.request.Request(url, data=body, method=method, headers={
            "Accept": "application/json", "User-Agent": "payment-webhooks-reconciler", **headers,
        })
        try:
            status, raw = self._transport(request, self._timeout)
        except urllib.error.HTTPError as exc:
            raise ProviderApiError(f"HTTP {exc.code}", exc.code) from None
        except TimeoutError:
            raise ProviderApiError("timeout") from None
        except urllib.error.URLError as exc:
            timed_out = isinstance(exc.reason, TimeoutError)
            raise ProviderApiError("timeout" if timed_out else "connection failed") from None
        except (OSError, ValueError):
            raise ProviderApiError("connection failed") from None
        if not 200 <= status < 300:
            raise ProviderApiError(f"HTTP {status}", status)
        if len(raw) > MAX_RESPONSE_BYTES:
            raise ProviderApiError("response too large")
        try:
            return json.loads(raw)
        except ValueError:
            raise ProviderApiError("response is not JSON") from None


def rfc3339(unix_seconds: int) -> str:
    """``2024-05-01T12:00:00Z``: the time format Square, GoCardless and PayPal filter by."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix_seconds))
