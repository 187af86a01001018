"""The scheduled reconciler's wiring from the container's services (the handler in app.py calls it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.reconcile.cursor import CursorStore
from chalicelib.reconcile.http import JsonClient
from chalicelib.reconcile.run import ReconcileContext, RunResult, reconcile_all

if TYPE_CHECKING:
    from chalicelib.runtime import Services


def metrics_namespace(stage: str) -> str:
    """The stage's custom metrics namespace (infrastructure.names.StageNames.metrics_namespace)."""
    return f"PaymentWebhooks/{stage}"


def reconcile_context(services: Services) -> ReconcileContext:
    settings = services.settings
    sns: Any = services.aws.sns
    topic = settings.alerts_topic_arn

    def alert(subject: str, message: str) -> None:
        sns.publish(TopicArn=topic, Subject=subject[:100], Message=message)

    return ReconcileContext(
        ingest=services.ingest,
        cursors=CursorStore(services.aws.dynamodb, settings.table_name),
        sources=services.sources.configured,
        client=JsonClient(),
        alerts=alert if topic else None,
        metrics_namespace=metrics_namespace(settings.stage),
    )


def run_scheduled(services: Services, now: float) -> RunResult:
    return reconcile_all(reconcile_context(services), now)
