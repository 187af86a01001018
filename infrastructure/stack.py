"""One stage of payment-webhooks: data, messaging, the Chalice app, its firewall and its alarms."""

from __future__ import annotations

from typing import Any

from aws_cdk import Annotations, Aws, CfnOutput, Stack
from constructs import Construct

from infrastructure import checkov_skips, nag
from infrastructure.api_stage import configure_rest_api
from infrastructure.chalice_app import (
    AppResources,
    api_handler_log_group,
    function_resource,
    include_chalice_app,
    rest_api_resource,
)
from infrastructure.encryption import create_key
from infrastructure.firewall import create_web_acl
from infrastructure.messaging import create_messaging
from infrastructure.monitoring import MonitoredFunction, Monitoring
from infrastructure.names import API_GATEWAY_STAGE, FUNCTIONS, PROCESSOR
from infrastructure.stage_config import StageConfig
from infrastructure.storage import create_archive_bucket, create_sources_secret, create_table
from infrastructure.tracing import create_sampling_rule


class PaymentWebhooksStack(Stack):
    """The stack's id must be the stage: ``chalice.cdk.Chalice`` packages the stage named after
    its scope (``dev`` -> ``.chalice/config.json``'s ``dev``). The stack *name* in CloudFormation
    is ``payment-webhooks-<stage>``."""

    def __init__(self, scope: Construct, config: StageConfig, **kwargs: Any) -> None:
        super().__init__(
            scope,
            config.stage,
            stack_name=config.names.stack_name,
            description=f"payment-webhooks {config.stage}: verified, stored-once, audited payment provider webhooks",
            **kwargs,
        )
        self.config = config
        key = create_key(self, config)
        table = create_table(self, config, key)
        secret = create_sources_secret(self, config, key)
        messaging = create_messaging(self, config, key)
        archive = create_archive_bucket(self, config, key)
        self.resources = AppResources(key=key, table=table, secret=secret, messaging=messaging, archive=archive)

        self.chalice = include_chalice_app(self, config, self.resources)
        rest_api = rest_api_resource(self.chalice)
        configure_rest_api(self, config, rest_api)
        create_sampling_rule(self, config)
        self.web_acl = create_web_acl(self, config, rest_api.ref)
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            config=config,
            messaging=messaging,
            functions=[MonitoredFunction(f, function_resource(self.chalice, f).ref) for f in FUNCTIONS],
            receiver_log_group=api_handler_log_group(self),
            processor_log_group_name=self.chalice.get_resource(PROCESSOR.log_group_logical_id or "").ref,
            web_acl_name=self.web_acl.name or "",
        )
        self._outputs(rest_api.ref)
        if not config.has_alert_subscriber:
            # A stage that requires a subscriber (prod) never gets here: stage_config refuses.
            Annotations.of(self).add_warning_v2(
                "payment-webhooks:no-alert-subscriber",
                f"stage {config.stage} has no alert subscriber: its alarms reach no one. Set "
                "alertEmail or alertEndpoint (cdk.json, or -c alertEmail=...).",
            )
        nag.suppress_reviewed_findings(self)
        checkov_skips.skip_reviewed_findings(self)

    def _outputs(self, rest_api_id: str) -> None:
        messaging = self.resources.messaging
        outputs = {
            "WebhookUrlPattern": (
                f"https://{rest_api_id}.execute-api.{Aws.REGION}.{Aws.URL_SUFFIX}/{API_GATEWAY_STAGE}/webhook/{{source}}",
                "POST endpoint of each source: replace {source} with the source's name",
            ),
            "WebhookTableName": (self.resources.table.table_name, "Webhook records (and payment records)"),
            "WebhookTableStreamArn": (
                self.resources.table.table_stream_arn or "",
                "Export as WEBHOOK_TABLE_STREAM_ARN before a plain `chalice deploy`/`package` of this stage",
            ),
            "ProcessingQueueUrl": (messaging.processing_queue.queue_url, "Queue of webhook ids to process"),
            "ProcessingDeadLetterQueueUrl": (
                messaging.dead_letter_queue.queue_url,
                "Webhooks that failed every attempt",
            ),
            "AuditFailureQueueUrl": (
                messaging.audit_failure_queue.queue_url,
                "Stream records the audit gave up on",
            ),
            "EnqueueFailureQueueUrl": (
                messaging.enqueue_failure_queue.queue_url,
                "Stream records of new webhooks the outbox gave up on: `ops requeue --from-failures`",
            ),
            "AlertsTopicArn": (
                messaging.alerts_topic.topic_arn,
                "Alarms and audit alerts: subscribe on-call here",
            ),
            "PaymentEventsTopicArn": (messaging.payment_events_topic.topic_arn, "Normalized payment events"),
            "SourcesSecretArn": (self.resources.secret.ref, "Write the sources document here"),
            "ArchiveBucketName": (
                self.resources.archive.bucket_name,
                "Webhook records archived before their TTL removal (ARCHIVE_BUCKET_NAME)",
            ),
            "DashboardName": (self.monitoring.dashboard.dashboard_name, "CloudWatch dashboard"),
        }
        for output_id, (value, description) in outputs.items():
            CfnOutput(self, output_id, value=value, description=description)
