"""GoCardless's events list, for the reconciler (never imported by the receiver).

``GET /events?created_at[gte]=..&created_at[lte]=..&limit=500&after=<cursor>`` with
``Authorization: Bearer <access token>`` and ``GoCardless-Version`` (developer.gocardless.com/api-
reference, "Events: List events"): ``{"events": [...], "meta": {"cursors": {"before", "after"},
"limit"}}``, the next page asked for with ``after``, the last one has ``after: null``. Each event is
the object a webhook delivery carries in its ``events`` array, so it is stored as one delivered
event would be (its id, ``<resource_type>.<action>``, its compact JSON). Only the types the
normalizer maps are kept. Sandbox: ``"baseUrl": "https://api-sandbox.gocardless.com"``.
"""

from __future__ import annotations

import urllib.parse
from typing import Any

from chalicelib.encoding import compact_json
from chalicelib.providers.contract import InboundEvent, SourceConfig
from chalicelib.providers.gocardless.normalize import EVENT_MAPPING
from chalicelib.reconcile.credentials import ApiCredentials
from chalicelib.reconcile.http import JsonClient, ProviderApiError, rfc3339
from chalicelib.reconcile.run import EventPage

API_BASE = "https://api.gocardless.com"
API_VERSION = "2015-07-06"  # the only GoCardless Pro API version
PAGE_SIZE = 500  # GoCardless's maximum


class GoCardlessEventsApi:
    def __init__(self, credentials: ApiCredentials, client: JsonClient) -> None:
        self._base = credentials.base(API_BASE)
        self._headers = {"Authorization": f"Bearer {credentials.key}", "GoCardless-Version": API_VERSION}
        self._client = client

    def page(self, start: int, end: int, token: str | None) -> EventPage:
        query = [("created_at[gte]", rfc3339(start)), ("created_at[lte]", rfc3339(end)), ("limit", str(PAGE_SIZE))]
        if token is not None:
            query.append(("after", token))
        document = self._client.request("GET", f"{self._base}/events?{urllib.parse.urlencode(query)}", self._headers)
        return parse_page(document)


def parse_page(document: Any) -> EventPage:
    if not isinstance(document, dict) or not isinstance(document.get("events"), list):
        raise ProviderApiError("unexpected response shape")
    cursors = (document.get("meta") or {}).get("cursors") if isinstance(document.get("meta"), dict) else None
    after = cursors.get("after") if isinstance(cursors, dict) else None
    events: list[InboundEvent] = []
    for event in document["events"]:
        if not (isinstance(event, dict) and isinstance(event.get("id"), str)
                and isinstance(event.get("resource_type"), str) and isinstance(event.get("action"), str)):
            raise ProviderApiError("unexpected event shape")
        event_type = f"{event['resource_type']}.{event['action']}"
        if event_type in EVENT_MAPPING:
            events.append(InboundEvent(event["id"], event_type, compact_json(event)))
    return EventPage(events, after if isinstance(after, str) and after else None)


def events_api(source: SourceConfig, credentials: ApiCredentials, client: JsonClient) -> GoCardlessEventsApi:
    if not credentials.key:
        raise ProviderApiError("no access token")
    return GoCardlessEventsApi(credentials, client)
