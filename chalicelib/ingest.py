"""Steps 1-4 of the flow: check, verify, store once; queueing is the table stream's. Answering
happens in the receiver.

A new record is not sent to the queue from here: the table's stream delivers every new webhook
record to the queue (chalicelib/outbox.py, a transactional outbox over DynamoDB Streams), so a
record stored and answered 2xx cannot be left with no message on its way, whatever happens to this
function after the put. The provider gets a 2xx once the record is stored. Nothing is stored
before its signature verified.

A duplicate delivery of a record still ``received`` is sent to the queue directly, but only once
the record is older than ``resend_after_seconds``: by then its stream record has had ample time to
be enqueued, so the provider's retry is a free safety net for a record whose stream delivery was
given up (processing is idempotent, so a second message is harmless). A younger one is not sent:
its stream record is on its way, and a send would only cost a call.

Hostile senders (docs/RELIABILITY.md): every write is decided before the first one (an event too
large to store is refused with nothing written). Then, for a provider whose signature does not
bind the body (``InboundEvent.transmission_id``), the transmission marker admits one body per
transmission id.

Replays after a record expired: an event whose signed content carries a time
(``InboundEvent.signed_created_at``) is refused once that time is older than the records'
retention less a day (``event_too_old``). A record stored at receipt r >= that time c lives until
r + R >= c + R, so a replay that passes this check finds its record still there and is a plain
duplicate: such an event needs no dedupe marker. Only an event without a signed time (Adyen's HMAC
covers none) gets one, written *before* its record, recording when the record expires: a crash
between the two leaves a marker whose record is still due, so the retry stores the record (nothing
lost); a marker whose record has expired means the bytes were handled long ago, and they are
answered ``duplicate`` without being stored again.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, NamedTuple

from chalicelib import log
from chalicelib.dynamo import is_item_too_large, is_permanent_error
from chalicelib.errors import (
    ConflictingEvent,
    ConflictingTransmission,
    DependencyUnavailable,
    EventTooLarge,
    EventTooOld,
    PayloadTooLarge,
    UnknownSource,
    UnstorableEvent,
    UnsupportedMediaType,
    WebhookError,
)
from chalicelib.providers import get_provider
from chalicelib.providers.contract import InboundEvent, SourceConfig
from chalicelib.queue import ProcessingQueue
from chalicelib.sources import SOURCE_NAME, SourceRegistry
from chalicelib.timestamps import iso_timestamp
from chalicelib.webhooks.encoding import MAX_ITEM_BYTES, item_size, stored_digest
from chalicelib.webhooks.record import (
    ANSWER_ACCEPTED,
    MARKER_RETENTION_DAYS,
    ORIGIN_DELIVERY,
    WebhookStatus,
    body_digest,
    dedupe_marker_item,
    received_item,
    safe_headers,
    transmission_key,
    transmission_marker_item,
    webhook_id_for,
)
from chalicelib.webhooks.store import Claim, WebhookStore

SECONDS_PER_DAY = 86_400
EVENT_AGE_MARGIN_SECONDS = SECONDS_PER_DAY
"""How much younger than the records' retention a signed creation time must be: room for the
provider's clock running ahead of ours, and for DynamoDB's TTL, which removes an expired item
only some time after its ``expiresAt`` (never before)."""


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
    resend_after_seconds: int
    """A duplicate delivery of a record still ``received`` this long after it arrived is sent to
    the queue (see the module doc); a younger one is left to the stream."""


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
    # SOURCE_NAME lives with the sources, which refuse at load time a name it cannot reach.
    if not SOURCE_NAME.fullmatch(name):
        raise UnknownSource()
    source = sources.get(name)
    if source is None:
        raise UnknownSource()
    return source


def declares_too_large(declared: str, max_body_bytes: int) -> bool:
    """Whether a ``Content-Length`` states more than the limit. ASCII digits only: ``str.isdigit``
    admits "²", which ``int`` refuses; and a length too long to be small is too large without
    ``int`` (which refuses over 4300 digits). Anything else is ignored: the body's length counts."""
    if not (declared.isascii() and declared.isdigit()):
        return False
    significant = declared.lstrip("0")
    return len(significant) > len(str(max_body_bytes)) or int(significant or "0") > max_body_bytes


def check_envelope(delivery: Delivery, max_body_bytes: int) -> None:
    """Size before anything reads the body, then the media type."""
    declared = delivery.headers.get("content-length", "")
    if len(delivery.body) > max_body_bytes or declares_too_large(declared, max_body_bytes):
        raise PayloadTooLarge()
    if not is_json_content_type(delivery.headers.get("content-type")):
        raise UnsupportedMediaType()


CONFLICTING_DELIVERY = "conflicting_delivery"
"""The alert of a delivery answered ``duplicate`` whose body differs from the first one's."""
ALERTS = (
    CONFLICTING_DELIVERY, ConflictingEvent.code, ConflictingTransmission.code, EventTooLarge.code,
    EventTooOld.code, UnstorableEvent.code,
)
"""Every ``alert`` value the receiver logs; a metric filter counts them (infrastructure/monitoring.py)."""


class Stored(NamedTuple):
    created: bool
    status: str
    """The record's status; empty when there is no record to queue (a replay after it expired)."""
    received_at: str = ""
    """The stored record's ``receivedAt`` (an existing record's, on a duplicate)."""


def alert(code: str, source: SourceConfig, webhook_id: str | None = None, **fields: Any) -> None:
    """One line a metric filter turns into an alarm: ``{"alert": code, ...}``. Identifiers only."""
    level = log.error if code in (EventTooLarge.code, UnstorableEvent.code) else log.warning
    level("delivery alert", alert=code, source=source.name, provider=source.provider, webhookId=webhook_id, **fields)


@contextmanager
def storing(source: SourceConfig, webhook_id: str | None = None) -> Iterator[None]:
    """Storage errors as answers: permanent ones (the same request fails again however often the
    provider retries it) are a 4xx that stops the retries, and alerted; the rest a 503."""
    try:
        yield
    except WebhookError:
        raise
    except Exception as exc:
        if is_item_too_large(exc):
            alert(EventTooLarge.code, source, webhook_id, errorType=log.error_type(exc))
            raise EventTooLarge() from exc
        if is_permanent_error(exc):
            alert(UnstorableEvent.code, source, webhook_id, errorType=log.error_type(exc))
            raise UnstorableEvent() from exc
        raise DependencyUnavailable() from exc


def claim_transmission(
    store: WebhookStore, source: SourceConfig, transmission_id: str, body: bytes, event_ids: Sequence[str],
    marker_expires_at: int,
) -> None:
    """Admit one body per transmission id: the same body again is the provider's retry."""
    digest = body_digest(body)
    key = transmission_key(source.provider, source.name, transmission_id)
    with storing(source):
        claim = store.claim_transmission(transmission_marker_item(key, digest, event_ids, marker_expires_at))
    if not claim.created and claim.digest != digest:
        alert(ConflictingTransmission.code, source, transmissionId=transmission_id[:128])
        raise ConflictingTransmission()


def check_age(source: SourceConfig, event: InboundEvent, webhook_id: str, now: float, retention_days: int) -> None:
    """Refuse an event whose signed creation time is older than the records' retention less the
    margin: its record may be gone, and without a marker nothing else would recognise it. A time
    in the future is the verifier's business (its tolerance), not this rule's."""
    created_at = event.signed_created_at
    if created_at is None:
        return
    oldest = now - retention_days * SECONDS_PER_DAY + EVENT_AGE_MARGIN_SECONDS
    if created_at < oldest:
        alert(EventTooOld.code, source, webhook_id, ageDays=int((now - created_at) // SECONDS_PER_DAY))
        raise EventTooOld()


def store_event(
    store: WebhookStore, source: SourceConfig, event: InboundEvent, webhook_id: str, item: dict[str, Any],
    now: float, marker_expires_at: int,
) -> Stored:
    """Dedupe marker (only for an event without a signed time), then record (see the module doc for
    why in this order)."""
    digest = stored_digest(item)
    record_expires_at = int(item["expiresAt"]["N"])
    # Where the signature binds the body (every MAC but PayPal's CRC32), another body under a
    # known event id is still the provider's own: answered duplicate. Where it does not, refused.
    body_signed = not event.transmission_id
    claim: Claim | None = None
    if event.signed_created_at is None:  # nothing but a marker bounds this event's replays
        with storing(source, webhook_id):
            claim = store.claim_event(dedupe_marker_item(webhook_id, digest, record_expires_at, marker_expires_at))
    if claim is not None and not claim.created:
        if claim.digest != digest and not body_signed:
            alert(ConflictingEvent.code, source, webhook_id)
            raise ConflictingEvent()
        if claim.record_expires_at and now >= claim.record_expires_at:
            # Its record is gone (or about to be): these bytes were handled long ago. Not stored again.
            if claim.digest != digest:
                alert(CONFLICTING_DELIVERY, source, webhook_id, recordExpired=True)
            else:
                log.info("replay after the record expired", source=source.name, webhookId=webhook_id)
            return Stored(False, "")
    with storing(source, webhook_id):
        stored = store.put_new(item)
    if stored.created:
        return Stored(True, WebhookStatus.RECEIVED, stored.received_at)
    if claim is not None and (claim.digest, claim.record_expires_at) != (stored.payload_sha256, stored.expires_at):
        # The record is older than the marker (stored before markers existed, or by the retry after
        # a crash between the two writes): the marker must say what the record says.
        with storing(source, webhook_id):
            store.replace_marker(
                dedupe_marker_item(webhook_id, stored.payload_sha256, stored.expires_at, marker_expires_at)
            )
    if stored.payload_sha256 != digest:
        if not body_signed:
            alert(ConflictingEvent.code, source, webhook_id)
            raise ConflictingEvent()
        with storing(source, webhook_id):
            store.count_conflict(webhook_id)
        alert(CONFLICTING_DELIVERY, source, webhook_id)
    return Stored(False, stored.status, stored.received_at)


def receive(delivery: Delivery, context: IngestContext, now: float) -> Ack:
    source = find_source(delivery.source, context.sources)
    check_envelope(delivery, context.max_body_bytes)
    provider = get_provider(source.provider)
    events = provider.verify(delivery.body, delivery.headers, source, now)
    # For the console's inspector: what it arrived with, never a signature or credential header.
    headers = safe_headers(delivery.headers, provider.signature_headers)
    stored = store_and_queue(source, events, context, now, body=delivery.body, headers=headers)
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
    body: bytes = b"",
    headers: Mapping[str, str] | None = None,
) -> list[StoredEvent]:
    """Store each verified event once (step 3); the table stream queues the new ones (step 4), and
    a duplicate still ``received`` long after it arrived is sent again here (module doc).

    Shared by a delivery (``receive``: its ``body`` for the transmission check, its safe
    ``headers`` for the inspector) and the reconciler (``origin="reconciled"``, events read from
    the provider's API), so both land on the same key, pass the same dedupe markers, use the same
    queue, and a later real delivery of a reconciled event is a duplicate.
    """
    received_at = iso_timestamp(now)
    expires_at = int(now) + context.retention_days * SECONDS_PER_DAY
    marker_expires_at = int(now) + MARKER_RETENTION_DAYS * SECONDS_PER_DAY
    answer = ANSWER_ACCEPTED if origin == ORIGIN_DELIVERY else None
    planned: list[tuple[InboundEvent, str, dict[str, Any]]] = []
    for event in events:
        webhook_id = webhook_id_for(source.name, event.event_id)
        check_age(source, event, webhook_id, now, context.retention_days)
        item = received_item(
            webhook_id, source.name, source.provider, event.event_id, event.event_type, event.payload,
            received_at, expires_at, content_digest=event.content_digest, headers=headers, answer=answer,
            origin=origin,
        )
        if item_size(item) > MAX_ITEM_BYTES:  # refused before anything is written
            alert(EventTooLarge.code, source, webhook_id)
            raise EventTooLarge()
        planned.append((event, webhook_id, item))

    for transmission_id in sorted({event.transmission_id for event in events if event.transmission_id}):
        claim_transmission(
            context.store, source, transmission_id, body,
            [event.event_id for event in events if event.transmission_id == transmission_id], marker_expires_at,
        )

    stored_events: list[StoredEvent] = []
    to_queue: list[str] = []
    resend_before = iso_timestamp(now - context.resend_after_seconds)
    for event, webhook_id, item in planned:
        stored = store_event(context.store, source, event, webhook_id, item, now, marker_expires_at)
        stored_events.append(StoredEvent(webhook_id, stored.created))
        if needs_resend(stored, resend_before):
            to_queue.append(webhook_id)

    if to_queue:
        try:
            context.queue.send(to_queue)
        except Exception as exc:
            raise DependencyUnavailable() from exc
    return stored_events


def needs_resend(stored: Stored, resend_before: str) -> bool:
    """Whether a stored event is sent to the queue from here: only a duplicate still ``received``
    that arrived before ``resend_before`` (a ``receivedAt`` value, which compares as text). A new
    record's message is the stream's job (module doc); so is a young duplicate's."""
    return (
        not stored.created
        and stored.status == WebhookStatus.RECEIVED
        and bool(stored.received_at)
        and stored.received_at < resend_before
    )
