"""Every error the receiver can answer with, in one place.

Each class carries its HTTP status, a stable machine code and a message that is safe to show to
anyone: it never includes exception text, secrets, signatures or internal names. The route turns
any of these into ``{"error": code, "message": message}``; anything else becomes a 500 with a
generic message, so nothing internal can leak by accident.
"""

from __future__ import annotations


class WebhookError(Exception):
    """Base of all errors that map to an HTTP answer."""

    status: int = 500
    code: str = "internal_error"
    message: str = "The webhook could not be handled."

    def __init__(self, message: str | None = None) -> None:
        if message is not None:
            self.message = message
        super().__init__(self.message)

    def to_body(self) -> dict[str, str]:
        return {"error": self.code, "message": self.message}


class MalformedPayload(WebhookError):
    status = 400
    code = "malformed_payload"
    message = "The body is not a well-formed event for this source."


class InvalidEventField(MalformedPayload):
    """A signed field is not in the format its provider documents (e.g. an Adyen reference with a
    ``:`` moved into it): refused whole, since the signature alone cannot tell where fields end."""

    code = "invalid_event_field"
    message = "An event field is not in the format its provider documents."


class MissingHeader(WebhookError):
    status = 400
    code = "missing_header"
    message = "A header required by this source's signature scheme is missing."


class InvalidSignature(WebhookError):
    status = 401
    code = "invalid_signature"
    message = "The signature does not verify."


class SignatureExpired(WebhookError):
    status = 401
    code = "signature_expired"
    message = "The signature timestamp is outside the allowed tolerance."


class UnknownSource(WebhookError):
    status = 404
    code = "unknown_source"
    message = "No webhook source is configured under this name."


class PayloadTooLarge(WebhookError):
    status = 413
    code = "payload_too_large"
    message = "The body is larger than this endpoint accepts."


class UnsupportedMediaType(WebhookError):
    status = 415
    code = "unsupported_media_type"
    message = "Webhooks must be sent as application/json."


class ConflictingTransmission(WebhookError):
    """A transmission id seen before arrived with another body: a forgery under genuine headers
    (PayPal signs only a CRC32 of the body). Nothing is stored; the receiver alerts."""

    status = 409
    code = "transmission_conflict"
    message = "This transmission was already received with a different body."


class ConflictingEvent(WebhookError):
    """An event id seen before arrived with another body from a provider whose signature does not
    bind the body: refused, never stored, alerted. (Where the MAC binds the body, such a delivery
    is the provider's own and is answered ``duplicate``.)"""

    status = 409
    code = "event_conflict"
    message = "This event was already received with a different body."


class EventTooOld(WebhookError):
    """A validly signed event created longer ago than the records are kept: by then its record may
    be gone, so accepting it could apply a replay as new. No provider retries anywhere near that
    long, so it is permanent: a 4xx, never stored, alerted (docs/RELIABILITY.md)."""

    status = 400
    code = "event_too_old"
    message = "The event is older than this endpoint accepts."


class EventTooLarge(WebhookError):
    """The event cannot be stored at all (over DynamoDB's item size): permanent, not retryable."""

    status = 413
    code = "event_too_large"
    message = "The event is larger than can be stored."


class UnstorableEvent(WebhookError):
    """Storage refused the event for good (a non-retryable client error): retrying cannot help."""

    status = 422
    code = "unstorable_event"
    message = "The event cannot be stored."


class DependencyUnavailable(WebhookError):
    """Storage, queue or configuration is unreachable: the provider should retry later."""

    status = 503
    code = "temporarily_unavailable"
    message = "The webhook could not be stored right now; retry later."
    retry_after_seconds = 30


class SourceMisconfigured(DependencyUnavailable):
    """The source's configuration is broken (a bad key, a missing option): 503 until it is fixed.

    Answered exactly like any dependency outage (the sender learns nothing about our
    configuration, and retries), but logged with ``fault: "configuration"`` and the problem, so the
    configuration-fault alarm names the cause. ``problem`` never holds a secret or a field value.
    """

    def __init__(self, problem: str) -> None:
        super().__init__()
        self.problem = problem


class ConfigurationError(Exception):
    """The sources configuration is invalid. Logged for the operator, answered as a 503
    (:class:`SourceMisconfigured`). Messages name the source and the problem, never a value."""


class ProcessingError(Exception):
    """A stored webhook could not be processed; ``reason`` is safe to store and show."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
