"""The container's wiring: settings, clients and services, built on first use and then reused.

Handlers ask for :func:`services`; tests call :func:`reset` to rebuild everything inside a fresh
moto mock. Nothing is created at import, so importing the app touches no AWS. What only one
function needs (the processor's, the audit's and the outbox's modules) is imported when that
function first asks for it, not by every function's cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from chalicelib.aws import AwsClients
from chalicelib.ingest import IngestContext
from chalicelib.queue import ProcessingQueue
from chalicelib.settings import Settings, get_settings
from chalicelib.sources import SourceRegistry
from chalicelib.webhooks.store import WebhookStore

if TYPE_CHECKING:
    from chalicelib.audit import AuditContext
    from chalicelib.outbox import OutboxContext
    from chalicelib.payments.publisher import PaymentEventPublisher
    from chalicelib.payments.store import PaymentStore
    from chalicelib.processing import ProcessingContext


@dataclass
class Services:
    settings: Settings

    @cached_property
    def aws(self) -> AwsClients:
        return AwsClients(self.settings)

    @cached_property
    def sources(self) -> SourceRegistry:
        return SourceRegistry(
            self.aws.secretsmanager,
            self.settings.sources_secret_id,
            self.settings.sources_cache_ttl_seconds,
            stage=self.settings.stage,
        )

    @cached_property
    def store(self) -> WebhookStore:
        return WebhookStore(self.aws.dynamodb, self.settings.table_name)

    @cached_property
    def queue(self) -> ProcessingQueue:
        return ProcessingQueue(
            self.aws.sqs, self.settings.processing_queue_name, self.settings.processing_queue_url
        )

    @cached_property
    def ingest(self) -> IngestContext:
        return IngestContext(
            sources=self.sources,
            store=self.store,
            queue=self.queue,
            max_body_bytes=self.settings.max_body_bytes,
            retention_days=self.settings.retention_days,
            resend_after_seconds=self.settings.resend_after_seconds,
        )

    @cached_property
    def payments(self) -> PaymentStore:
        """Payment records (same table as the webhooks); the ops CLI reads them with ``get``.

        Imported here, not at the top: only the processor needs the payments machinery, and the
        receiver's cold start should not pay for it.
        """
        from chalicelib.payments.store import PaymentStore

        return PaymentStore(self.aws.dynamodb, self.settings.table_name)

    @cached_property
    def payment_events(self) -> PaymentEventPublisher:
        from chalicelib.payments.publisher import PaymentEventPublisher

        return PaymentEventPublisher(self.aws.sns, self.settings.payment_events_topic_arn)

    @cached_property
    def processing(self) -> ProcessingContext:
        from chalicelib.processing import ProcessingContext

        return ProcessingContext(
            store=self.store,
            max_receives=self.settings.max_receives,
            payments=self.payments,
            publisher=self.payment_events,
            sources=self.sources,
        )

    @cached_property
    def audit(self) -> AuditContext:
        from chalicelib.archive import WebhookArchive
        from chalicelib.audit import AuditContext

        bucket = self.settings.archive_bucket_name
        return AuditContext(
            sns=self.aws.sns,
            alerts_topic_arn=self.settings.alerts_topic_arn,
            archive=WebhookArchive(self.aws.s3, bucket) if bucket else None,
        )

    @cached_property
    def outbox(self) -> OutboxContext:
        from chalicelib.outbox import OutboxContext

        return OutboxContext(queue=self.queue)



_services: Services | None = None


def services() -> Services:
    global _services
    if _services is None:
        _services = Services(get_settings())
    return _services


def reset() -> None:
    """Forget every client and cache (tests: a new moto mock, changed environment)."""
    global _services
    _services = None
    get_settings.cache_clear()
