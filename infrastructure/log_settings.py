"""How the stack configures logging, as plain values: the CDK code applies them
(``infrastructure.function_logging``, ``infrastructure.api_stage``) and the cost model
(``bench/cost.py``) prices what they let through, without importing the CDK."""

from __future__ import annotations

import json

LOG_FORMAT = "JSON"
SYSTEM_LOG_LEVEL = "WARN"
"""Lambda's START, END and REPORT lines are INFO: at WARN they are not ingested."""
PLATFORM_LINES_LOGGED = LOG_FORMAT != "JSON" or SYSTEM_LOG_LEVEL in ("DEBUG", "INFO", "TRACE")
"""Lambda applies log levels only to the JSON format: in Text every START/END/REPORT is logged."""
INFREQUENT_ACCESS = "INFREQUENT_ACCESS"
INFREQUENT_ACCESS_FUNCTIONS = frozenset({"audit_changes"})
"""Functions (``.chalice/config.json`` names) whose log group nothing filters in real time."""
ACCESS_LOG_INFREQUENT_ACCESS = True
"""API Gateway's access log group: nothing filters it in real time either."""

ACCESS_LOG_FORMAT = json.dumps(
    {
        "requestId": "$context.requestId",
        "ip": "$context.identity.sourceIp",
        "requestTime": "$context.requestTimeEpoch",
        "method": "$context.httpMethod",
        "path": "$context.path",
        "status": "$context.status",
        "responseLength": "$context.responseLength",
        "latencyMs": "$context.responseLatency",
        "integrationStatus": "$context.integrationStatus",
        "wafStatus": "$context.waf.status",
        "error": "$context.error.responseType",
    },
    separators=(",", ":"),
)
"""One JSON line per request: who, what, how it ended. No headers, no body (signatures and payloads
stay out of logs)."""
