"""Steps 1-4 of the flow: check, verify, store once, queue. Answering happens in the receiver.

Order matters for the invariants. The record is stored before the message is sent, and the
provider gets a 2xx only when both succeeded: a failure in between answers 503, the provider
retries, and the retry finds the record still ``received`` and queues it again. Nothing is stored
before its signature verified.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from chalicelib.errors import (
    DependencyUnavailable,
    PayloadTooLarge,
    UnknownSource,
    UnsupportedMediaType,
)
from chalicelib.providers import get_provider
from chalicelib.providers.contract import InboundEvent, SourceConfig
from chalicelib.queue import ProcessingQueue
from chalicelib.sources import SourceRegistry
from chalicelib.store import ORIGIN_DELIVERY, RECEIVED, WebhookStore, received_item, webhook_id_for
from chalicelib.timestamps import iso_timestamp

SOURCE_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
SECONDS_PER_DAY = 86_400


# One Delivery and one Ack per request: named tuples, which build in half the time of frozen
# dataclasses (whose __init__ goes through object.__setattr__ per field) and are as immutable.


class Delivery(NamedTuple):
    source: str
    body: bytes
    headers: Mapping[str, str]
    """Header names in lower case."""


class Ack(NamedTuple):
    source: SourceConfig
    webhook_ids: tuple[str, ...]
    duplicate: bool
    """True when every event of the delivery had been stored before."""


@dataclass(frozen=True)
class IngestContext:
    sources: SourceRegistry
    store: WebhookStore
    queue: ProcessingQueue
    max_body_bytes: int
    retention_days: int
    sweep_after_seconds: int
    """A new record is due for the sweeper this long after it arrived."""


# What providers send, recognised without parsing (0.2 -> 0.08 µs, timeit).
_COMMON_JSON_CONTENT_TYPES = frozenset({"application/json", "application/json; charset=utf-8"})


def is_json_content_type(value: str | None) -> bool:
    if value in _COMMON_JSON_CONTENT_TYPES:
        return True
    if not value:
        return False
    media_type = value.split(";", 1)[0].strip().lower()
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def find_source(name: str, sources: SourceRegistry) -> SourceConfig:
    if not SOURCE_NAME.match(name):
        raise UnknownSource()
    source = sources.get(name)
    if source is None:
        raise UnknownSource()
    return source


def check_envelope(delivery: Delivery, max_body_bytes: int) -> None:
    """Size before anything reads the body, then the media type."""
    declared = delivery.headers.get("content-length", "")
    if len(delivery.body) > max_body_bytes or (declared.isdigit() and int(declared) > max_body_bytes):
        raise PayloadTooLarge()
    if not is_json_content_type(delivery.headers.get("content-type")):
        raise UnsupportedMediaType()


def receive(delivery: Delivery, context: IngestContext, now: float) -> Ack:
    source = find_source(delivery.source, context.sources)
    check_envelope(delivery, context.max_body_bytes)
    provider = get_provider(source.provider)
    events = provider.verify(delivery.body, delivery.headers, source, now)
    stored = store_and_queue(source, events, context, now)
    return Ack(source, tuple(s.webhook_id for s in stored), all(not s.created for s in stored))


class StoredEvent(NamedTuple):
    webhook_id: str
    created: bool
    """False: the record existed (a duplicate delivery, or an event already reconciled)."""


def store_and_queue(
    source: SourceConfig,
    events: Sequence[InboundEvent],
    context: IngestContext,
    now: float,
    origin: str = ORIGIN_DELIVERY,
) -> list[StoredEvent]:
    """Store each verified event once and queue what is still ``received``: steps 3 and 4.

    Shared by a delivery (``receive``) and the reconciler (``origin="reconciled"``, events read
    from the provider's API), so both land on the same key, in the same queue, and a later real
    delivery of a reconciled event is a duplicate.
    """
    received_at = iso_timestamp(now)
    expires_at = int(now) + context.retention_days * SECONDS_PER_DAY
    sweep_at = iso_timestamp(now + context.sweep_after_seconds)
    stored_events: list[StoredEvent] = []
    to_queue: list[str] = []
    for event in events:
        webhook_id = webhook_id_for(source.name, event.event_id)
        item = received_item(
            webhook_id, source.name, source.provider, event.event_id, event.event_type, event.payload,
            received_at, expires_at, sweep_at, origin,
        )
        try:
            stored = context.store.put_new(item)
        except Exception as exc:
            raise DependencyUnavailable() from exc
        stored_events.append(StoredEvent(webhook_id, stored.created))
        # A duplicate still `received` may be one whose first send failed: queue it again.
        # Processing is idempotent, so a second message for a queued record is harmless.
        if stored.status == RECEIVED:
            to_queue.append(webhook_id)

    try:
        context.queue.send(to_queue)
    except Exception as exc:
        raise DependencyUnavailable() from exc
    return stored_events
