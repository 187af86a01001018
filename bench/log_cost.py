"""CloudWatch Logs in figure 6: each group's lines at the class and system log level the stack
gives it (infrastructure/log_settings.py), ours measured by the run, Lambda's and API Gateway's
modelled from what the stack configures."""

from __future__ import annotations

from bench import prices
from bench.prices import Line
from infrastructure import log_settings

PLATFORM_LOG_BYTES = 350
"""Lambda's START, END and REPORT lines per invocation: ingested only where the functions'
``SystemLogLevel`` lets INFO through (infrastructure/log_settings.py: WARN, so none)."""
TYPICAL_ACCESS_LOG_VALUES = {
    "$context.requestId": "c6af9ac6-7b61-11e6-9a41-93e8deadbeef",  # a UUID
    "$context.identity.sourceIp": "54.187.174.169",  # a provider's webhook sender
    "$context.requestTimeEpoch": "1764614400123",  # milliseconds
    "$context.httpMethod": "POST",
    "$context.path": "/api/webhook/stripe",  # the stage's name, then the resource
    "$context.status": "200",
    "$context.responseLength": "57",  # {"webhookId":"wh_<32 hex>","status":"accepted"}
    "$context.responseLatency": "23",
    "$context.integrationStatus": "200",
    "$context.waf.status": "200",
    "$context.error.responseType": "-",  # API Gateway writes "-" for a value a request has not
}
"""What an accepted delivery puts in each variable of the access log format."""


def access_log_line_bytes(log_format: str = log_settings.ACCESS_LOG_FORMAT) -> int:
    """API Gateway's access log line for an accepted delivery: the stack's format
    (infrastructure/log_settings.py ``ACCESS_LOG_FORMAT``) with each variable's typical value."""
    line = log_format
    for variable in sorted(TYPICAL_ACCESS_LOG_VALUES, key=len, reverse=True):
        line = line.replace(variable, TYPICAL_ACCESS_LOG_VALUES[variable])
    if "$context" in line:
        raise ValueError(f"the access log format has a variable with no typical value here: {line}")
    return len(line.encode("utf-8"))


def log_price(infrequent_access: bool) -> prices.Price:
    """The ingestion price of a log group of the class the stack gives it."""
    return prices.CLOUDWATCH_LOGS_INGEST_IA_GB if infrequent_access else prices.CLOUDWATCH_LOGS_INGEST_GB


def _log_class(infrequent_access: bool) -> str:
    return "Infrequent Access" if infrequent_access else "Standard"


def log_lines(log_bytes_per_webhook: float, audit_log_bytes_per_webhook: float,
              invocations_per_webhook: float) -> list[Line]:
    """CloudWatch Logs, group by group: the receiver's and processor's lines and the audit's
    (measured bytes per webhook), Lambda's platform lines (per invocation: receive, process, audit,
    outbox) and API Gateway's access log line."""
    audit_ia = "audit_changes" in log_settings.INFREQUENT_ACCESS_FUNCTIONS
    access_ia = log_settings.ACCESS_LOG_INFREQUENT_ACCESS
    platform = PLATFORM_LOG_BYTES * invocations_per_webhook if log_settings.PLATFORM_LINES_LOGGED else 0.0
    return [
        Line("CloudWatch Logs", "receiver's and processor's lines (Standard: the metric filters read them)",
             log_bytes_per_webhook / 1e9, "GB", prices.CLOUDWATCH_LOGS_INGEST_GB,
             "measured (figure 4's run: one receive and one process line per webhook)"),
        Line("CloudWatch Logs", f"audit lines ({_log_class(audit_ia)})",
             audit_log_bytes_per_webhook / 1e9, "GB", log_price(audit_ia),
             "measured: the audit handler on figure 4's stream records"),
        Line("CloudWatch Logs", f"Lambda's START/END/REPORT (SystemLogLevel {log_settings.SYSTEM_LOG_LEVEL})",
             platform / 1e9, "GB", prices.CLOUDWATCH_LOGS_INGEST_GB,
             f"model: {PLATFORM_LOG_BYTES} B per invocation (receive, process, audit, outbox); "
             + ("none: they are INFO, below the threshold" if not log_settings.PLATFORM_LINES_LOGGED
                else "all logged")),
        Line("CloudWatch Logs", f"API Gateway access log line ({_log_class(access_ia)})",
             access_log_line_bytes() / 1e9, "GB", log_price(access_ia),
             "model: the stack's access log format with an accepted delivery's values"),
    ]
