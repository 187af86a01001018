"""Lambda's advanced logging controls on every function, and the log class of each function's group.

Chalice cannot declare either, so the stack overrides the SAM functions' ``LoggingConfig`` and the
log groups ``chalice package`` emits (issue 16: CloudWatch Logs was $1.45 of $9.13 per million
webhooks at 100/s).

- ``LogFormat: JSON`` with ``SystemLogLevel: WARN``: Lambda's own START, END and REPORT lines are
  INFO, so they are no longer ingested (about 350 bytes per invocation). Duration, Errors and
  Throttles are CloudWatch metrics Lambda publishes whatever the log level, so every alarm stays;
  a timeout or a crashed runtime is still logged (those platform lines are WARN or ERROR). Our own
  lines are JSON objects written to stdout (``chalicelib.log``), which Lambda passes through as
  they are ("Lambda does not double-encode any logs that are already JSON encoded", AWS Lambda
  developer guide, "Configuring JSON and plain text log formats"), so the metric filters keep
  matching ``$.error``, ``$.fault``, ``$.metric``. That is proven only on AWS: docs/DEPLOYING.md
  says how to check it after a deploy.
- ``ApplicationLogLevel``: the app's own threshold (``LOG_LEVEL``), never stricter than INFO. Lambda
  reads the ``level`` key of a JSON line written to stdout and treats a value it does not know as
  INFO ("Log-level filtering", same guide); Lambda's names are TRACE ... WARN, ERROR, FATAL, ours
  say ``WARNING``. A Lambda threshold of WARN would therefore drop our warnings (the delivery
  alerts, the unmapped-value metric lines). ``chalicelib.log`` drops lines below ``LOG_LEVEL``
  before they are written, so a WARNING threshold costs nothing in Lambda's hands either way.
- The audit's log group is in the Infrequent Access class (half the ingestion price): nothing
  filters it in real time (no metric filter, no subscription filter, no Live Tail in the runbook),
  and it is read with Logs Insights, which Infrequent Access supports. A log group's class is fixed
  when it is created, so the group gets a new name (replacing it in place under the same name would
  fail: CloudFormation cannot replace a custom-named resource), and the function is pointed at it
  with ``LoggingConfig.LogGroup``. Its name is fixed by the stage, not derived from the function's
  generated name: the function refers to the group, so the group cannot refer to the function.
  The other groups stay Standard: the receiver's and the processor's carry the metric filters,
  the reconciler logs its metrics in the embedded metric format (not extracted from Infrequent
  Access groups), and the outbox logs nothing per webhook once the platform lines are gone (its
  errors are worth ``aws logs tail`` in an incident).
"""

from __future__ import annotations

from aws_cdk import aws_logs as logs
from chalice.cdk import Chalice

from infrastructure.log_settings import INFREQUENT_ACCESS, INFREQUENT_ACCESS_FUNCTIONS, LOG_FORMAT, SYSTEM_LOG_LEVEL
from infrastructure.names import FUNCTIONS, ChaliceFunction
from infrastructure.stage_config import StageConfig

_LAMBDA_LEVELS = {"DEBUG": "DEBUG", "INFO": "INFO"}
"""``LOG_LEVEL`` values Lambda names the same way; anything stricter is left to chalicelib.log."""


def application_log_level(threshold: str) -> str:
    """Lambda's ``ApplicationLogLevel`` for the app's ``LOG_LEVEL`` (see the module docstring)."""
    return _LAMBDA_LEVELS.get(threshold.upper(), "INFO")


def infrequent_access_log_group_name(config: StageConfig, function: ChaliceFunction) -> str:
    """A name of the stage's own (``chalice deploy``'s function name, then the class), so that it
    cannot be the Standard group the function had before, whose class cannot change."""
    return f"/aws/lambda/{config.names.chalice_function_name(function)}/infrequent-access"


def configure_function_logging(chalice: Chalice, config: StageConfig) -> None:
    """JSON format, Lambda's INFO lines dropped, and the audit's group in Infrequent Access."""
    for function in FUNCTIONS:
        logging_config: dict[str, object] = {"LogFormat": LOG_FORMAT}
        if LOG_FORMAT == "JSON":  # Lambda refuses log levels with the Text format
            logging_config["SystemLogLevel"] = SYSTEM_LOG_LEVEL
            logging_config["ApplicationLogLevel"] = application_log_level(config.environment.get("LOG_LEVEL", "INFO"))
        if function.name in INFREQUENT_ACCESS_FUNCTIONS:
            assert function.log_group_logical_id is not None, f"{function.name} has no Chalice log group"
            group = chalice.get_resource(function.log_group_logical_id)
            assert isinstance(group, logs.CfnLogGroup)
            group.log_group_name = infrequent_access_log_group_name(config, function)
            group.log_group_class = INFREQUENT_ACCESS
            logging_config["LogGroup"] = group.ref  # also makes the group exist before the function
        resource = chalice.get_resource(function.logical_id)
        resource.add_property_override("LoggingConfig", logging_config)
