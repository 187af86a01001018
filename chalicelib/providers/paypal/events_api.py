"""PayPal's event notifications list, for the reconciler (never imported by the receiver).

An OAuth access token first (``POST /v1/oauth2/token``, HTTP Basic with the app's client id and
secret, ``grant_type=client_credentials``: developer.paypal.com/api/rest/authentication), kept
for the API object's life (one run). Then ``GET /v1/notifications/webhooks-events?page_size=..&
start_time=..&end_time=..`` (Webhooks Management v1, "List event notifications"):
``{"events": [...], "count": n, "links": [{"href", "rel": "next", "method": "GET"}]}``; the next
page is the ``next`` link, followed only when it is on the same host (the bearer token goes with
it). Each event is the document a webhook delivers (``id``, ``event_type``, ``resource``...).
Only the types the normalizer maps are kept. Sandbox: ``"baseUrl": "https://api-m.sandbox.paypal.com"``.
"""

from __future__ import annotations

import base64
import urllib.parse
from typing import Any

from chalicelib.encoding import compact_json
from chalicelib.providers.contract import InboundEvent, SourceConfig
from chalicelib.providers.paypal.normalize import (
    AUTHORIZATION_STATUSES,
    CAPTURE_STATUSES,
    DISPUTE_EVENT_PREFIX,
    REFUND_EVENT_TYPES,
)
from chalicelib.reconcile.credentials import ApiCredentials
from chalicelib.reconcile.http import JsonClient, ProviderApiError, rfc3339
from chalicelib.reconcile.run import EventPage

API_BASE = "https://api-m.paypal.com"
PAGE_SIZE = 100


def is_payment_relevant(event_type: str) -> bool:
    return (
        event_type in CAPTURE_STATUSES
        or event_type in AUTHORIZATION_STATUSES
        or event_type in REFUND_EVENT_TYPES
        or event_type.startswith(DISPUTE_EVENT_PREFIX)
    )


class PayPalEventsApi:
    def __init__(self, credentials: ApiCredentials, client: JsonClient) -> None:
        self._base = credentials.base(API_BASE)
        self._credentials = credentials
        self._client = client
        self._token: str | None = None

    def _bearer(self) -> dict[str, str]:
        if self._token is None:
            basic = base64.b64encode(
                f"{self._credentials.client_id}:{self._credentials.client_secret}".encode()
            ).decode()
            answer = self._client.request(
                "POST", f"{self._base}/v1/oauth2/token",
                {"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
                b"grant_type=client_credentials",
            )
            token = answer.get("access_token") if isinstance(answer, dict) else None
            if not isinstance(token, str) or not token:
                raise ProviderApiError("no access token in the OAuth answer")
            self._token = token
        return {"Authorization": f"Bearer {self._token}"}

    def page(self, start: int, end: int, token: str | None) -> EventPage:
        if token is None:
            query = urllib.parse.urlencode(
                [("page_size", str(PAGE_SIZE)), ("start_time", rfc3339(start)), ("end_time", rfc3339(end))]
            )
            url = f"{self._base}/v1/notifications/webhooks-events?{query}"
        else:
            url = token
        return parse_page(self._client.request("GET", url, self._bearer()), self._base)


def parse_page(document: Any, base: str) -> EventPage:
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise ProviderApiError("unexpected response shape")
    events: list[InboundEvent] = []
    for event in document["events"]:
        readable = isinstance(event, dict) and isinstance(event.get("id"), str)
        if not (readable and isinstance(event.get("event_type"), str)):
            raise ProviderApiError("unexpected event shape")
        if is_payment_relevant(event["event_type"]):
            events.append(InboundEvent(event["id"], event["event_type"], compact_json(event)))
    next_url = None
    for link in document.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "next" and isinstance(link.get("href"), str):
            next_url = link["href"]
    if next_url is not None and _origin(next_url) != _origin(base):
        raise ProviderApiError("the next page link points to another host")
    return EventPage(events, next_url)


def _origin(url: str) -> tuple[str, str]:
    parts = urllib.parse.urlsplit(url)
    return parts.scheme, parts.netloc


def events_api(source: SourceConfig, credentials: ApiCredentials, client: JsonClient) -> PayPalEventsApi:
    if not (credentials.client_id and credentials.client_secret):
        raise ProviderApiError("no client id and secret")
    return PayPalEventsApi(credentials, client)


# -------------------------------------------------------------------------------------------
# Confirmation: defense in depth for a signature that binds the body only by its CRC32
# -------------------------------------------------------------------------------------------

CONFIRM_OPTION = "confirmWithApi"
CONFIRM_TIMEOUT_SECONDS = 4.0
"""Two calls (a token, when none is cached, and the event) inside the receiver's 10 s timeout."""
MISMATCH_METRIC = "PayPalConfirmationMismatches"
_TOKENS: dict[tuple[str, str], tuple[str, float]] = {}
"""Access tokens by (API base, client id) with their expiry: one OAuth call per container and
token lifetime, not per delivery."""


def moves_money(event_type: str) -> bool:
    """Captures and refunds (reversals included): the events whose forgery would move money."""
    return event_type in CAPTURE_STATUSES or event_type in REFUND_EVENT_TYPES


def _fingerprint(document: Any) -> tuple[Any, ...]:
    """What a confirmed event must agree on: its id and type, and the resource's id, status and
    amount (what the normalizer reads to move a payment)."""
    event: dict[str, Any] = document if isinstance(document, dict) else {}
    resource = event.get("resource")
    resource = resource if isinstance(resource, dict) else {}
    amount = resource.get("amount")
    amount = amount if isinstance(amount, dict) else {}
    return (
        event.get("id"), event.get("event_type"),
        resource.get("id"), resource.get("status"), amount.get("value"), amount.get("currency_code"),
    )


class _CachedTokenApi(PayPalEventsApi):
    def __init__(self, credentials: ApiCredentials, client: JsonClient, clock: Any) -> None:
        super().__init__(credentials, client)
        self._key = (self._base, credentials.client_id)
        cached = _TOKENS.get(self._key)
        if cached is not None and cached[1] > clock():
            self._token = cached[0]
        self._clock = clock

    def event(self, event_id: str) -> Any:
        url = f"{self._base}/v1/notifications/webhooks-events/{urllib.parse.quote(event_id, safe='')}"
        headers = self._bearer()
        # Kept eight hours: PayPal's tokens live about nine (expires_in 32400 s).
        _TOKENS[self._key] = (str(self._token), self._clock() + 8 * 3600)
        return self._client.request("GET", url, headers)


def confirm_delivery(source: SourceConfig, document: Any, client: JsonClient | None = None) -> None:
    """Ask PayPal for the delivered event by id; refuse the delivery when PayPal's copy differs.

    Called by the receiver, after the signature verified, for money-moving events of a source
    with ``confirmWithApi: true`` (and PayPal API credentials). PayPal's answer is the authority:
    a mismatch raises :class:`InvalidSignature` (4xx: a forged body is never retried into
    acceptance) and is logged as an error with its own metric, which alarms; PayPal unreachable,
    or not knowing the event yet, raises :class:`DependencyUnavailable` (503: PayPal retries).
    """
    import time

    from chalicelib import log
    from chalicelib.errors import ConfigurationError, DependencyUnavailable, InvalidSignature
    from chalicelib.reconcile.credentials import api_credentials

    event_id = document.get("id") if isinstance(document, dict) else None
    try:
        credentials = api_credentials(source)
    except ConfigurationError:
        credentials = None
    if credentials is None or not (credentials.client_id and credentials.client_secret):
        log.error("paypal confirmation: the source has no API client credentials", source=source.name)
        raise DependencyUnavailable()
    api = _CachedTokenApi(credentials, client or JsonClient(timeout_seconds=CONFIRM_TIMEOUT_SECONDS), time.time)
    try:
        fetched = api.event(str(event_id))
    except ProviderApiError as exc:
        log.error("paypal confirmation unavailable", source=source.name, eventId=event_id, reason=exc.reason)
        raise DependencyUnavailable() from None
    if _fingerprint(fetched) != _fingerprint(document):
        log.error(
            "paypal confirmation mismatch: delivery refused", source=source.name, eventId=event_id,
            _aws={"Timestamp": int(time.time() * 1000), "CloudWatchMetrics": [{
                "Namespace": f"PaymentWebhooks/{source.stage}", "Dimensions": [["source"], []],
                "Metrics": [{"Name": MISMATCH_METRIC, "Unit": "Count"}],
            }]},
            **{MISMATCH_METRIC: 1},
        )
        raise InvalidSignature()
