"""Square's Events API search, for the reconciler (never imported by the receiver).

``POST /v2/events`` (developer.squareup.com/reference/square/events-api/search-events) with
``{"limit": 100, "query": {"filter": {"created_at": {"start_at", "end_at"}}, "sort": {"field":
"DEFAULT", "order": "ASC"}}, "cursor": ...}``: the answer is ``{"events": [...], "metadata": [...],
"cursor": ...}``, the cursor absent or empty on the last page, and a cursor must be sent with the
original query. Square keeps events searchable for 28 days, and only once search is enabled for
the application (``PUT /v2/events/enable``). Each event has the webhook body's shape
(``merchant_id``, ``type``, ``event_id``, ``created_at``, ``data``). Only the types the normalizer
maps are kept. Sandbox: ``"baseUrl": "https://connect.squareupsandbox.com"``.
"""

from __future__ import annotations

import json
from typing import Any

from chalicelib.encoding import compact_json
from chalicelib.providers.contract import InboundEvent, SourceConfig
from chalicelib.providers.square.normalize import DISPUTE_EVENT_PREFIX, PAYMENT_EVENT_TYPES, REFUND_EVENT_TYPES
from chalicelib.reconcile.credentials import ApiCredentials
from chalicelib.reconcile.http import JsonClient, ProviderApiError, rfc3339
from chalicelib.reconcile.run import EventPage

API_BASE = "https://connect.squareup.com"
API_VERSION = "2025-01-23"
"""``Square-Version`` pinned: the response shape is the version's, not the application's default."""
PAGE_SIZE = 100  # Square's maximum


def is_payment_relevant(event_type: str) -> bool:
    return event_type in PAYMENT_EVENT_TYPES or event_type in REFUND_EVENT_TYPES or event_type.startswith(
        DISPUTE_EVENT_PREFIX
    )


class SquareEventsApi:
    def __init__(self, credentials: ApiCredentials, client: JsonClient) -> None:
        self._url = f"{credentials.base(API_BASE)}/v2/events"
        self._headers = {
            "Authorization": f"Bearer {credentials.key}",
            "Square-Version": API_VERSION,
            "Content-Type": "application/json",
        }
        self._client = client

    def page(self, start: int, end: int, token: str | None) -> EventPage:
        body: dict[str, Any] = {
            "limit": PAGE_SIZE,
            "query": {
                "filter": {"created_at": {"start_at": rfc3339(start), "end_at": rfc3339(end)}},
                "sort": {"field": "DEFAULT", "order": "ASC"},
            },
        }
        if token is not None:
            body["cursor"] = token
        document = self._client.request("POST", self._url, self._headers, json.dumps(body).encode())
        return parse_page(document)


def parse_page(document: Any) -> EventPage:
    if not isinstance(document, dict) or document.get("errors"):
        raise ProviderApiError("unexpected response shape")
    listed = document.get("events", [])  # an empty result may leave the field out
    if not isinstance(listed, list):
        raise ProviderApiError("unexpected response shape")
    events: list[InboundEvent] = []
    for event in listed:
        readable = isinstance(event, dict) and isinstance(event.get("event_id"), str)
        if not (readable and isinstance(event.get("type"), str)):
            raise ProviderApiError("unexpected event shape")
        if is_payment_relevant(event["type"]):
            events.append(InboundEvent(event["event_id"], event["type"], compact_json(event)))
    cursor = document.get("cursor")
    return EventPage(events, cursor if isinstance(cursor, str) and cursor else None)


def events_api(source: SourceConfig, credentials: ApiCredentials, client: JsonClient) -> SquareEventsApi:
    if not credentials.key:
        raise ProviderApiError("no access token")
    return SquareEventsApi(credentials, client)
