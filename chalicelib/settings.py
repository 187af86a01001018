"""Settings from the stage's environment variables (set in ``.chalice/config.json`` or by CDK).

Read once per container, on first use, never at import: importing the app must not fail on a
machine where a variable is missing (``chalice package`` imports it too).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

# Names the decorators in app.py need at import time (event-source wiring). The defaults are the
# `local` stage's names, so importing the app works anywhere.
DEFAULT_QUEUE_NAME = "payment-webhooks-local-processing"
DEFAULT_STREAM_ARN = (
    "arn:aws:dynamodb:us-east-1:123456789012:table/payment-webhooks-local/stream/"
    "1970-01-01T00:00:00.000"
)


LOCAL_STAGE = "local"


class PlaceholderWiring(RuntimeError):
    """Packaging a deployed stage would wire a trigger to the ``local`` stage's placeholder."""


def _decorator_value(variable: str, placeholder: str) -> str:
    """A value ``app.py``'s decorators need at import time, for event-source wiring.

    Only packaging uses it: ``chalice package``/``deploy`` import the app to write each trigger's
    source into the template or the mapping. For ``local`` the placeholder is the local stack's own
    name. For any other stage, packaging with the placeholder would silently wire the audit to a
    stream of a table that does not exist, so it fails here, naming the variable to export. Inside
    Lambda (``AWS_LAMBDA_FUNCTION_NAME`` set) the value is never used: the mapping already exists,
    and a deployed function must keep importing.
    """
    value = os.environ.get(variable) or placeholder
    stage = os.environ.get("STAGE", LOCAL_STAGE)
    if value == placeholder and stage != LOCAL_STAGE and not os.environ.get("AWS_LAMBDA_FUNCTION_NAME"):
        raise PlaceholderWiring(
            f"{variable} is not set for stage {stage!r}: packaging would wire the trigger to the local "
            f"placeholder {placeholder!r}. Export {variable} (the stack's output of that name: README, "
            "'Fast code iterations') before `chalice package`/`chalice deploy`, or deploy with the CDK."
        )
    return value


def processing_queue_name() -> str:
    return _decorator_value("PROCESSING_QUEUE_NAME", DEFAULT_QUEUE_NAME)


def table_stream_arn() -> str:
    return _decorator_value("WEBHOOK_TABLE_STREAM_ARN", DEFAULT_STREAM_ARN)


def reconcile_rate_minutes() -> int:
    return int(os.environ.get("RECONCILE_RATE_MINUTES", "15"))


@dataclass(frozen=True)
class Settings:
    stage: str
    table_name: str
    processing_queue_name: str
    processing_queue_url: str | None
    """Optional: when unset the URL is looked up once per container from the queue name."""
    alerts_topic_arn: str
    payment_events_topic_arn: str
    sources_secret_id: str
    max_body_bytes: int
    retention_days: int
    max_receives: int
    """Must equal the processing queue's redrive ``maxReceiveCount``: on the last receive a failing
    webhook is marked ``failed`` because the queue is about to dead-letter it."""
    resend_after_seconds: int
    """How long after its arrival a duplicate delivery of a record still ``received`` is sent to the
    queue by the receiver (chalicelib/ingest.py): by then its stream record has long been handled."""
    sources_cache_ttl_seconds: int
    tracing: bool
    archive_bucket_name: str = ""
    """The webhook archive's bucket (chalicelib/archive.py); empty: TTL removals are not archived."""

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> Settings:
        # os.environ is looked up at call time: chalice's test client swaps the object itself.
        env = os.environ if env is None else env
        stage = env.get("STAGE", "local")
        prefix = f"payment-webhooks-{stage}"
        return cls(
            stage=stage,
            table_name=env.get("WEBHOOK_TABLE_NAME", prefix),
            processing_queue_name=env.get("PROCESSING_QUEUE_NAME", f"{prefix}-processing"),
            processing_queue_url=env.get("PROCESSING_QUEUE_URL") or None,
            alerts_topic_arn=env.get("ALERTS_TOPIC_ARN", ""),
            payment_events_topic_arn=env.get("PAYMENT_EVENTS_TOPIC_ARN", ""),
            sources_secret_id=env.get("SOURCES_SECRET_ID", f"payment-webhooks/{stage}/sources"),
            max_body_bytes=int(env.get("MAX_BODY_BYTES", str(256 * 1024))),
            retention_days=int(env.get("RETENTION_DAYS", "90")),
            max_receives=int(env.get("MAX_RECEIVES", "5")),
            resend_after_seconds=int(env.get("RESEND_AFTER_SECONDS", "900")),
            sources_cache_ttl_seconds=int(env.get("SOURCES_CACHE_TTL_SECONDS", "60")),
            tracing=env.get("TRACING", "false").lower() == "true",
            archive_bucket_name=env.get("ARCHIVE_BUCKET_NAME", f"{prefix}-archive"),
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings.from_environment()
