"""Alarms that page a human through the alerts topic, and one dashboard of the pipeline.

Each alarm answers a question on-call must not have to ask:

- is a webhook stuck for good? (processing DLQ not empty; stream records the audit gave up on)
- is processing falling behind? (age of the oldest queued message; the audit's iterator age)
- are providers being turned away? (API 5xx: they retry, but a run of them means an outage)
- is someone forging signatures, or did a secret rotation go wrong? (a spike of 401s, counted by a
  metric filter on the receiver's JSON log lines)
- is a source misconfigured? (a key or option a provider cannot use, a broken entry in the sources
  secret: its deliveries get 503 until someone fixes it; counted by a metric filter on the
  ``"fault": "configuration"`` field of the receiver's lines, which also name the source and problem)
- is any function crashing or throttled? (Lambda Errors and Throttles, per function)
- is someone sending conflicting or replayed deliveries, or did an event fail to store for good?
  (any receiver log line with an ``alert`` field: :data:`chalicelib.ingest.ALERTS`)
- is money misstated by a value we do not map? (the processor's ``metric="UnmappedProviderValue"``
  warnings: a known event with an unknown value, e.g. a new Stripe dispute status, stored
  ``ignored``; and ``metric="HistoricalAmountRounded"``: an amount in an old fractional unit, such
  as ISK before 2023, rounded to the currency's unit; counted by metric filters on the processor's
  log group)
- are deliveries failing silently? (the reconciler recovered events no webhook brought: its
  embedded metric ``RecoveredWebhooks``, in total here and by ``source`` on the metric; the
  reconciler's own alert message names the source and the webhook ids)

Every alarm is named ``<prefix>-...``: the key policy and the topic policy let exactly those alarms
publish. Each notifies on ALARM and again on OK.
"""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Aws, Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from chalicelib.errors import InvalidSignature, SignatureExpired
from chalicelib.ingest import ALERTS
from chalicelib.providers.paypal.events_api import MISMATCH_METRIC as PAYPAL_MISMATCH_METRIC
from chalicelib.reconcile.run import METRIC_NAME as RECOVERED_METRIC
from infrastructure.messaging import Messaging
from infrastructure.names import API_GATEWAY_STAGE, ChaliceFunction
from infrastructure.stage_config import StageConfig

PERIOD = Duration.minutes(5)
OLDEST_MESSAGE_AGE_SECONDS = 600
"""A healthy queue is drained in seconds; ten minutes means the processor is failing or stalled."""
AUDIT_ITERATOR_AGE_MS = 15 * 60 * 1000
ENQUEUE_ITERATOR_AGE_MS = 5 * 60 * 1000
"""The outbox's lag is every new webhook's processing delay: tighter than the audit's."""
"""The audit more than 15 minutes behind the table (IteratorAge is in milliseconds)."""
RECEIVER_5XX_PER_PERIOD = 5
SIGNATURE_FAILURES_PER_PERIOD = 20
"""Providers retry a few deliveries after a rotation mistake; twenty 401s in five minutes is
either a forged-traffic probe or a secret that no longer matches: both need a human."""
SIGNATURE_FAILURE_CODES = (InvalidSignature.code, SignatureExpired.code)
CONFIGURATION_FAULT = "configuration"
"""The receiver's ``fault`` field on a misconfigured source's lines (chalicelib/receiver.py, sources.py)."""
CONFIGURATION_FAULTS_PER_PERIOD = 1
"""One is enough: a misconfigured source turns every delivery away until a human fixes it."""
DELIVERY_ALERTS_PER_PERIOD = 1
"""Each is a delivery a human must look at: a body that differs from the first one under the
same event or transmission id (a forgery, or a provider that changed an event), or an event
refused for good because it cannot be stored (the provider stops retrying it)."""


UNMAPPED_VALUE_METRIC = "UnmappedProviderValue"
"""The ``metric`` field of a normalizer's warning for an unknown value of a known event
(chalicelib/providers/stripe/normalize.py): the event is stored ``ignored``, not booked."""
ROUNDED_AMOUNT_METRIC = "HistoricalAmountRounded"
"""The ``metric`` field of the warning for a historical fractional amount rounded to the
currency's unit (chalicelib/payments/money.py)."""
PROCESSOR_WARNINGS_PER_PERIOD = 1
"""One is enough: each is a payment event whose money was not booked as sent (ignored, or rounded)."""


def metric_field_pattern(metric: str) -> logs.IFilterPattern:
    """Log lines with ``"metric": <metric>`` (the field the processor's warnings carry)."""
    return logs.FilterPattern.string_value("$.metric", "=", metric)


def delivery_alert_pattern() -> logs.IFilterPattern:
    """Receiver log lines with ``"alert": <one of ALERTS>``."""
    return logs.FilterPattern.any(*(logs.FilterPattern.string_value("$.alert", "=", code) for code in ALERTS))


@dataclass(frozen=True)
class MonitoredFunction:
    function: ChaliceFunction
    name: str
    """The deployed function's name (a token: CloudFormation generates it)."""


def signature_failure_pattern() -> logs.IFilterPattern:
    """Receiver log lines with ``"error": "invalid_signature"`` or ``"signature_expired"``."""
    return logs.FilterPattern.any(
        *(logs.FilterPattern.string_value("$.error", "=", code) for code in SIGNATURE_FAILURE_CODES)
    )


def configuration_fault_pattern() -> logs.IFilterPattern:
    """Receiver log lines with ``"fault": "configuration"``."""
    return logs.FilterPattern.string_value("$.fault", "=", CONFIGURATION_FAULT)


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: StageConfig,
        messaging: Messaging,
        functions: list[MonitoredFunction],
        receiver_log_group: logs.ILogGroup,
        processor_log_group_name: str,
        web_acl_name: str,
    ) -> None:
        """``processor_log_group_name``: a reference to the processor's log group resource (its
        ``Ref``), so that the filters on it are created after the group."""
        super().__init__(scope, construct_id)
        self._config = config
        self._topic = messaging.alerts_topic
        self.alarms: list[cloudwatch.Alarm] = []
        names = config.names

        self._queue_not_empty(
            "dlq-not-empty",
            "A webhook exhausted its retries: its message is in the processing DLQ.",
            messaging.dead_letter_queue,
        )
        self._queue_not_empty(
            "audit-failures-not-empty",
            "The audit gave up on stream records: see the audit-failures queue.",
            messaging.audit_failure_queue,
        )
        self._queue_not_empty(
            "enqueue-failures-not-empty",
            "The outbox gave up on queueing new webhooks: run `ops requeue --from-failures` (docs/OPERATING.md).",
            messaging.enqueue_failure_queue,
        )
        oldest = messaging.processing_queue.metric_approximate_age_of_oldest_message(
            period=PERIOD, statistic="Maximum"
        )
        self._alarm(
            "processing-backlog-age",
            "The oldest queued webhook waited over 10 minutes (seconds).",
            oldest,
            OLDEST_MESSAGE_AGE_SECONDS,
        )

        api_dimensions = {"ApiName": names.rest_api, "Stage": API_GATEWAY_STAGE}
        server_errors = cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name="5XXError",
            dimensions_map=api_dimensions,
            statistic="Sum",
            period=PERIOD,
        )
        self._alarm(
            "receiver-5xx",
            "Providers got 5xx answers (they retry; a run of them is an outage).",
            server_errors,
            RECEIVER_5XX_PER_PERIOD,
        )

        signature_failures = self._log_alarm(
            "signature-failures",
            "A spike of webhooks rejected for a bad or expired signature: "
            "forged traffic, or a secret that no longer matches.",
            receiver_log_group,
            "SignatureFailures",
            signature_failure_pattern(),
            SIGNATURE_FAILURES_PER_PERIOD,
        )
        self._log_alarm(
            "source-configuration",
            "A source is misconfigured (its deliveries get 503): the receiver's log lines with "
            'fault "configuration" name the source and the problem.',
            receiver_log_group,
            "ConfigurationFaults",
            configuration_fault_pattern(),
            CONFIGURATION_FAULTS_PER_PERIOD,
        )
        self._log_alarm(
            "delivery-alerts",
            "A conflicting, stale or unstorable delivery (receiver log lines with an \"alert\" field: "
            "the same event or transmission id with another body, a signed event older than the record "
            "retention, or an event too large to store).",
            receiver_log_group,
            "DeliveryAlerts",
            delivery_alert_pattern(),
            DELIVERY_ALERTS_PER_PERIOD,
        )
        processor_log_group = logs.LogGroup.from_log_group_name(self, "ProcessorLogGroup", processor_log_group_name)
        self._log_alarm(
            "unmapped-provider-values",
            "A payment event with a value the mapping does not know (e.g. a new dispute status) was "
            'stored ignored, not booked: the processor\'s lines with metric "UnmappedProviderValue" '
            "name the provider, event type, field and webhook id (docs/OPERATING.md).",
            processor_log_group,
            UNMAPPED_VALUE_METRIC,
            metric_field_pattern(UNMAPPED_VALUE_METRIC),
            PROCESSOR_WARNINGS_PER_PERIOD,
        )
        self._log_alarm(
            "historical-amounts-rounded",
            "An amount in a historical fractional unit (e.g. ISK before 2023) was rounded to the "
            'currency\'s unit: the processor\'s lines with metric "HistoricalAmountRounded" name the '
            "field and currency (docs/OPERATING.md).",
            processor_log_group,
            ROUNDED_AMOUNT_METRIC,
            metric_field_pattern(ROUNDED_AMOUNT_METRIC),
            PROCESSOR_WARNINGS_PER_PERIOD,
        )

        # Logged by the reconciler in CloudWatch's embedded metric format (no metric filter needed),
        # with a total (no dimension) for this alarm and a `source` dimension for the dashboard.
        recovered = cloudwatch.Metric(
            namespace=names.metrics_namespace, metric_name=RECOVERED_METRIC, statistic="Sum", period=PERIOD
        )
        self._alarm(
            "reconcile-recovered",
            "The reconciler stored events a provider never delivered: deliveries to a source are failing "
            "(endpoint disabled, secret rotated too early, WAF or DNS). Its alert names the source.",
            recovered,
            1,
        )

        # PayPal's confirmation option refused a delivery PayPal's API knows differently: a body
        # forged under a valid CRC-based signature, or a bug; either needs a human at once.
        mismatches = cloudwatch.Metric(
            namespace=names.metrics_namespace, metric_name=PAYPAL_MISMATCH_METRIC, statistic="Sum", period=PERIOD
        )
        self._alarm(
            "paypal-confirmation-mismatch",
            "A PayPal delivery with a valid signature differed from PayPal's own copy of the event "
            "and was refused (the log line names the source and event id).",
            mismatches,
            1,
        )

        lambda_metrics: dict[str, list[cloudwatch.IMetric]] = {
            "Invocations": [],
            "Errors": [],
            "Throttles": [],
            "Duration": [],
        }
        for monitored in functions:
            errors = self._lambda_metric(monitored, "Errors")
            throttles = self._lambda_metric(monitored, "Throttles")
            self._alarm(
                f"{monitored.function.name}-errors",
                f"{monitored.function.name} failed invocations.",
                errors,
                1,
            )
            self._alarm(
                f"{monitored.function.name}-throttles",
                f"{monitored.function.name} was throttled.",
                throttles,
                1,
            )
            label = (
                monitored.function.name
            )  # dashboard lines only: a labelled alarm metric renders as metric math
            lambda_metrics["Invocations"].append(
                self._lambda_metric(monitored, "Invocations").with_(label=label)
            )
            lambda_metrics["Errors"].append(errors.with_(label=label))
            lambda_metrics["Throttles"].append(throttles.with_(label=label))
            lambda_metrics["Duration"].append(
                self._lambda_metric(monitored, "Duration", statistic="p99").with_(label=label)
            )
        auditor = next(m for m in functions if m.function.name == "audit_changes")
        iterator_age = self._lambda_metric(auditor, "IteratorAge", statistic="Maximum")
        self._alarm(
            "audit-iterator-age",
            "The audit is over 15 minutes behind the table (milliseconds).",
            iterator_age,
            AUDIT_ITERATOR_AGE_MS,
        )
        enqueuer = next(m for m in functions if m.function.name == "enqueue_new_webhooks")
        self._alarm(
            "enqueue-iterator-age",
            "The outbox is over 5 minutes behind the table: new webhooks are not being queued (milliseconds).",
            self._lambda_metric(enqueuer, "IteratorAge", statistic="Maximum"),
            ENQUEUE_ITERATOR_AGE_MS,
        )

        self.dashboard = self._dashboard(
            messaging, api_dimensions, signature_failures, lambda_metrics, iterator_age, web_acl_name
        )

    def _lambda_metric(
        self, monitored: MonitoredFunction, metric_name: str, statistic: str = "Sum"
    ) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/Lambda",
            metric_name=metric_name,
            dimensions_map={"FunctionName": monitored.name},
            statistic=statistic,
            period=PERIOD,
        )

    def _log_alarm(
        self,
        what: str,
        description: str,
        log_group: logs.ILogGroup,
        metric_name: str,
        pattern: logs.IFilterPattern,
        threshold: float,
    ) -> cloudwatch.Metric:
        """A metric filter counting ``log_group``'s lines that match ``pattern`` (1 each) as
        ``metric_name`` in the stage's namespace, and the alarm ``what`` on its 5-minute sum.

        The filter's construct id is ``<metric_name>Filter``, as the filters had before this
        helper: a changed logical id would replace each filter on the next deploy.
        """
        namespace = self._config.names.metrics_namespace
        logs.MetricFilter(
            self,
            f"{metric_name}Filter",
            log_group=log_group,
            metric_namespace=namespace,
            metric_name=metric_name,
            filter_pattern=pattern,
            metric_value="1",
        )
        metric = cloudwatch.Metric(namespace=namespace, metric_name=metric_name, statistic="Sum", period=PERIOD)
        self._alarm(what, description, metric, threshold)
        return metric

    def _queue_not_empty(self, what: str, description: str, queue: sqs.IQueue) -> cloudwatch.Alarm:
        """An alarm as soon as ``queue`` holds a message (a dead-letter or failure queue)."""
        visible = queue.metric_approximate_number_of_messages_visible(period=Duration.minutes(1), statistic="Maximum")
        return self._alarm(what, description, visible, 1)

    def _alarm(
        self, what: str, description: str, metric: cloudwatch.IMetric, threshold: float
    ) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            f"Alarm-{what}",
            alarm_name=self._config.names.alarm(what),
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # No data (an idle stage, a queue never used) is healthy, not an alarm.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = actions.SnsAction(self._topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms.append(alarm)
        return alarm

    def _dashboard(
        self,
        messaging: Messaging,
        api_dimensions: dict[str, str],
        signature_failures: cloudwatch.IMetric,
        lambda_metrics: dict[str, list[cloudwatch.IMetric]],
        iterator_age: cloudwatch.IMetric,
        web_acl_name: str,
    ) -> cloudwatch.Dashboard:
        def api(metric_name: str, statistic: str = "Sum") -> cloudwatch.Metric:
            return cloudwatch.Metric(
                namespace="AWS/ApiGateway",
                metric_name=metric_name,
                dimensions_map=api_dimensions,
                statistic=statistic,
                period=PERIOD,
            )

        waf_blocked = cloudwatch.Metric(
            namespace="AWS/WAFV2",
            metric_name="BlockedRequests",
            dimensions_map={"WebACL": web_acl_name, "Rule": "ALL", "Region": Aws.REGION},
            statistic="Sum",
            period=PERIOD,
        )
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=self._config.names.prefix)
        dashboard.add_widgets(
            cloudwatch.AlarmStatusWidget(title="Alarms", alarms=list(self.alarms), width=24, height=4),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Webhooks received (requests)",
                left=[api("Count")],
                right=[api("4XXError"), api("5XXError")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="API latency p99 (ms)",
                left=[api("Latency", "p99"), api("IntegrationLatency", "p99")],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Signature failures and WAF blocks", left=[signature_failures, waf_blocked], width=8
            ),
        )
        dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Processing queue",
                left=[
                    messaging.processing_queue.metric_approximate_number_of_messages_visible(period=PERIOD)
                ],
                right=[messaging.processing_queue.metric_approximate_age_of_oldest_message(period=PERIOD)],
                width=8,
            ),
            cloudwatch.SingleValueWidget(
                title="Dead letters (processing DLQ, audit and enqueue failures)",
                metrics=[
                    messaging.dead_letter_queue.metric_approximate_number_of_messages_visible(period=PERIOD),
                    messaging.audit_failure_queue.metric_approximate_number_of_messages_visible(
                        period=PERIOD
                    ),
                    messaging.enqueue_failure_queue.metric_approximate_number_of_messages_visible(
                        period=PERIOD
                    ),
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(title="Audit iterator age (ms)", left=[iterator_age], width=8),
        )
        dashboard.add_widgets(
            *(
                cloudwatch.GraphWidget(title=f"Lambda {name}", left=metrics, width=6)
                for name, metrics in lambda_metrics.items()
            )
        )
        return dashboard

