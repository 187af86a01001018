"""Structured JSON logging through Powertools' Logger, created on first use.

One line per outcome, with its fields at the top level so CloudWatch Logs Insights and metric
filters can query them. Nothing logged may carry a secret, a signature, a raw payload or exception
text: callers pass only identifiers, codes and exception *type* names (see :func:`error_type`).
The Logger is built lazily because importing Powertools adds about 35 ms to the import of the app,
which every Lambda pays at cold start even if it never logs.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from aws_lambda_powertools.logging import Logger

SERVICE_NAME = "payment-webhooks"


class _CurrentStdout:
    """Writes to whatever ``sys.stdout`` is at the time (test capture, the local runner)."""

    def write(self, text: str) -> int:
        return sys.stdout.write(text)

    def flush(self) -> None:
        sys.stdout.flush()


@lru_cache(maxsize=1)
def get_logger() -> Logger:
    from aws_lambda_powertools.logging import Logger

    return Logger(service=SERVICE_NAME, stream=_CurrentStdout())  # type: ignore[arg-type]


def info(message: str, **fields: Any) -> None:
    get_logger().info(message, extra=fields, stacklevel=3)


def warning(message: str, **fields: Any) -> None:
    get_logger().warning(message, extra=fields, stacklevel=3)


def error(message: str, **fields: Any) -> None:
    get_logger().error(message, extra=fields, stacklevel=3)


def error_type(exc: BaseException) -> str:
    """A safe description of an exception: its type, and AWS's error code for a ClientError."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str) and code:
            return f"{type(exc).__name__}:{code}"
    return type(exc).__name__
