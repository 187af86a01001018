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
