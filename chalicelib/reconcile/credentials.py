"""A source's provider API credentials: the ``api`` object of its entry in the sources secret.

::

    "stripe":  {"secrets": ["whsec_..."], "api": {"key": "rk_live_...", "account": "acct_..."}},
    "square":  {"secrets": ["..."], "api": {"key": "<access token>",
                                            "baseUrl": "https://connect.squareupsandbox.com"}},
    "gocardless": {"secrets": ["..."], "api": {"key": "<access token>"}},
    "paypal":  {"secrets": ["<webhook id>"], "api": {"clientId": "...", "clientSecret": "..."}}

``baseUrl`` is optional (the provider's production API by default: sandboxes, tests and the local
stack set it; plain ``http://`` only in the ``local`` stage). Only the reconciler reads this
object; the receiver ignores it, so a broken ``api`` object stops that source's reconciliation
(logged) and never its webhooks. The key is never logged
nor printed (``repr`` hides it). Rotating it: create the new key at the provider, replace the
value in the secret (live within the sources cache TTL, one minute), then revoke the old key.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from chalicelib.errors import ConfigurationError
from chalicelib.providers.contract import SourceConfig
from chalicelib.settings import LOCAL_STAGE

API_OPTION = "api"
_TEXT_FIELDS = ("key", "baseUrl", "account", "clientId", "clientSecret")


@dataclass(frozen=True)
class ApiCredentials:
    key: str = field(default="", repr=False)
    """Stripe restricted key (read access to events), Square or GoCardless access token."""
    base_url: str = ""
    """Empty: the provider's production API."""
    account: str = ""
    """Stripe Connect: the connected account the source is bound to (``Stripe-Account``)."""
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    """PayPal's OAuth client credentials."""

    def base(self, default: str) -> str:
        return (self.base_url or default).rstrip("/")


def api_credentials(source: SourceConfig) -> ApiCredentials | None:
    """The source's credentials, None when it has none; :class:`ConfigurationError` (no values) when
    its ``api`` object is malformed."""
    entry: Any = source.options.get(API_OPTION)
    if entry is None:
        return None
    if not isinstance(entry, Mapping):
        raise ConfigurationError(f"source {source.name!r}: 'api' must be an object")
    for name in entry:
        if name not in _TEXT_FIELDS:
            raise ConfigurationError(f"source {source.name!r}: unknown 'api' field {name!r}")
        if not isinstance(entry[name], str) or not entry[name]:
            raise ConfigurationError(f"source {source.name!r}: 'api.{name}' must be a non-empty string")
    credentials = ApiCredentials(
        key=entry.get("key", ""),
        base_url=entry.get("baseUrl", ""),
        account=entry.get("account", ""),
        client_id=entry.get("clientId", ""),
        client_secret=entry.get("clientSecret", ""),
    )
    if not (credentials.key or (credentials.client_id and credentials.client_secret)):
        raise ConfigurationError(
            f"source {source.name!r}: 'api' needs 'key' (or PayPal's 'clientId' and 'clientSecret')"
        )
    # A reconciled event's authenticity is the TLS connection to the provider: plain http is for
    # the local stage only (localstripe, the tests' stub servers).
    schemes = ("https://", "http://") if source.stage == LOCAL_STAGE else ("https://",)
    if credentials.base_url and not credentials.base_url.startswith(schemes):
        raise ConfigurationError(f"source {source.name!r}: 'api.baseUrl' must be an https URL")
    return credentials
