"""Names shared by the CDK stack and the plain-Chalice IAM policies.

Logical ids are the ones ``chalice package`` gives the resources of ``app.py`` (Chalice derives
them from the handler names); the stack looks them up in the included template, so a renamed
handler fails the synthesis instead of silently dropping an override.
"""

from __future__ import annotations

from dataclasses import dataclass

APP_NAME = "payment-webhooks"
STAGES = ("local", "dev", "prod")
API_GATEWAY_STAGE = "api"
"""``api_gateway_stage`` in ``.chalice/config.json``: the path prefix of every URL."""


@dataclass(frozen=True)
class ChaliceFunction:
    """One Lambda function of ``app.py`` as Chalice names it in config and in templates."""

    name: str
    """The key under ``lambda_functions`` in ``.chalice/config.json``."""
    logical_id: str
    """The function's logical id in the ``chalice package`` template."""
    role_logical_id: str
    log_group_logical_id: str | None
    """None where the stack, not Chalice, creates the log group (see ``API_HANDLER``)."""
    event_logical_id: str | None = None
    """The SAM event under ``Events`` that wires the function to its trigger."""


API_HANDLER = ChaliceFunction(
    name="api_handler",
    logical_id="APIHandler",
    role_logical_id="ApiHandlerRole",
    # chalice package (1.34) names this log group after "ApiHandler" but renames the function to
    # "APIHandler", leaving a dangling ${ApiHandler} reference; config.json therefore turns
    # Chalice's log group off for this function and the stack creates a correct one.
    log_group_logical_id=None,
)
PROCESSOR = ChaliceFunction(
    name="process_webhooks",
    logical_id="ProcessWebhooks",
    role_logical_id="ProcessWebhooksRole",
    log_group_logical_id="ProcessWebhooksLogGroup",
    event_logical_id="ProcessWebhooksSqsEventSource",
)
AUDITOR = ChaliceFunction(
    name="audit_changes",
    logical_id="AuditChanges",
    role_logical_id="AuditChangesRole",
    log_group_logical_id="AuditChangesLogGroup",
    event_logical_id="AuditChangesDynamodbEventSource",
)
ENQUEUER = ChaliceFunction(
    name="enqueue_new_webhooks",
    logical_id="EnqueueNewWebhooks",
    role_logical_id="EnqueueNewWebhooksRole",
    log_group_logical_id="EnqueueNewWebhooksLogGroup",
    event_logical_id="EnqueueNewWebhooksDynamodbEventSource",
)
RECONCILER = ChaliceFunction(
    name="reconcile_missed_webhooks",
    logical_id="ReconcileMissedWebhooks",
    role_logical_id="ReconcileMissedWebhooksRole",
    log_group_logical_id="ReconcileMissedWebhooksLogGroup",
    event_logical_id="ReconcileMissedWebhooksEvent",
)
FUNCTIONS = (API_HANDLER, PROCESSOR, AUDITOR, ENQUEUER, RECONCILER)
REST_API_LOGICAL_ID = "RestAPI"
REST_API_STAGE_LOGICAL_ID = f"{REST_API_LOGICAL_ID}{API_GATEWAY_STAGE}Stage"
"""The AWS::ApiGateway::Stage that the SAM transform generates from ``RestAPI`` at deploy time."""


@dataclass(frozen=True)
class StageNames:
    """Physical names of one stage's resources; the same scheme as ``devstack/resources.py``."""

    stage: str

    @property
    def prefix(self) -> str:
        return f"{APP_NAME}-{self.stage}"

    @property
    def stack_name(self) -> str:
        return self.prefix

    @property
    def table(self) -> str:
        return self.prefix

    @property
    def processing_queue(self) -> str:
        return f"{self.prefix}-processing"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.processing_queue}-dlq"

    @property
    def audit_failure_queue(self) -> str:
        return f"{self.prefix}-audit-failures"

    @property
    def enqueue_failure_queue(self) -> str:
        return f"{self.prefix}-enqueue-failures"

    @property
    def alerts_topic(self) -> str:
        return f"{self.prefix}-alerts"

    @property
    def payment_events_topic(self) -> str:
        return f"{self.prefix}-payment-events"

    @property
    def archive_bucket(self) -> str:
        """The webhook archive bucket's name *prefix*: the stack appends the account id (bucket
        names are global); the local stack uses it as it is."""
        return f"{self.prefix}-archive"

    @property
    def sources_secret(self) -> str:
        return f"{APP_NAME}/{self.stage}/sources"

    @property
    def key_alias(self) -> str:
        return f"alias/{self.prefix}"

    @property
    def rest_api(self) -> str:
        return self.prefix

    @property
    def metrics_namespace(self) -> str:
        return f"PaymentWebhooks/{self.stage}"

    def alarm(self, what: str) -> str:
        return f"{self.prefix}-{what}"

    def chalice_function_name(self, function: ChaliceFunction) -> str:
        """What ``chalice deploy`` names a function (the API handler has no suffix)."""
        return self.prefix if function is API_HANDLER else f"{self.prefix}-{function.name}"
