"""Stripe's events list, for the reconciler (never imported by the receiver).

``GET /v1/events?created[gte]=..&created[lte]=..&limit=100&starting_after=<last id>``
(docs.stripe.com/api/events/list): newest first, ``has_more`` says whether another page follows,
and the next page starts after the last event id of this one. Authenticated with a restricted key
that can read events (``Authorization: Bearer rk_...``); a source bound to a Connect account sends
``Stripe-Account`` so the list is that account's.

Only payment-relevant types are kept: those the normalizer maps (:mod:`.normalize`). They are
filtered here rather than with ``types[]``: the filter then follows the mapping by construction,
and it works against localstripe, which does not implement ``types[]``. Each event object is the
same document a webhook delivers (an Event), stored compact.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

from chalicelib.providers.contract import InboundEvent, SourceConfig
from chalicelib.providers.stripe.normalize import (
    CHARGE_REFUNDED,
    DISPUTE_EVENT_PREFIX,
    PAYMENT_INTENT_STATUSES,
    REFUND_EVENT_TYPES,
)
from chalicelib.reconcile.credentials import ApiCredentials
from chalicelib.reconcile.http import JsonClient, ProviderApiError
from chalicelib.reconcile.run import EventPage

API_BASE = "https://api.stripe.com"
PAGE_SIZE = 100  # Stripe's maximum


def is_payment_relevant(event_type: str) -> bool:
    return (
        event_type in PAYMENT_INTENT_STATUSES
        or event_type == CHARGE_REFUNDED
        or event_type in REFUND_EVENT_TYPES
        or event_type.startswith(DISPUTE_EVENT_PREFIX)
    )


class StripeEventsApi:
    def __init__(self, credentials: ApiCredentials, client: JsonClient) -> None:
        self._base = credentials.base(API_BASE)
        self._headers = {"Authorization": f"Bearer {credentials.key}"}
        if credentials.account:
            self._headers["Stripe-Account"] = credentials.account
        self._client = client

    def page(self, start: int, end: int, token: str | None) -> EventPage:
        query = [("created[gte]", str(start)), ("created[lte]", str(end)), ("limit", str(PAGE_SIZE))]
        if token is not None:
            query.append(("starting_after", token))
        document = self._client.request("GET", f"{self._base}/v1/events?{urllib.parse.urlencode(query)}", self._headers)
        return parse_page(document)


def parse_page(document: Any) -> EventPage:
    if not isinstance(document, dict) or document.get("object") != "list" or not isinstance(document.get("data"), list):
        raise ProviderApiError("unexpected response shape")
    events: list[InboundEvent] = []
    last_id: str | None = None
    for event in document["data"]:
        if not (isinstance(event, dict) and isinstance(event.get("id"), str) and isinstance(event.get("type"), str)):
            raise ProviderApiError("unexpected event shape")
        last_id = event["id"]
        if is_payment_relevant(event["type"]):
            events.append(InboundEvent(event["id"], event["type"], json.dumps(event, separators=(",", ":"))))
    has_more = document.get("has_more") is True
    if has_more and last_id is None:
        raise ProviderApiError("has_more on an empty page")
    return EventPage(events, last_id if has_more else None)


def events_api(source: SourceConfig, credentials: ApiCredentials, client: JsonClient) -> StripeEventsApi:
    if not credentials.key:
        raise ProviderApiError("no API key")
    return StripeEventsApi(credentials, client)
