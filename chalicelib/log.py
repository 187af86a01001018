"""Structured logging: one JSON object per line on stdout, which Lambda ships to CloudWatch Logs.

Fields sit at the top level so CloudWatch Logs Insights and metric filters can query them
(``{ $.error = "invalid_signature" }``). Nothing logged may carry a secret, a signature, a raw
payload or exception text: callers pass only identifiers, codes and exception *type* names (see
:func:`error_type`), and the test suite fails any test during which a log line leaks one.

Every line made during a handler's invocation also carries that invocation's ``requestId`` (the
Lambda request id), ``coldStart`` (true only on the container's first invocation of the function)
and ``xrayTraceId`` when Lambda traces it, so one webhook's lines can be found together and next
to its trace. Each handler in app.py opens :func:`invocation`; a contextvar carries the fields,
so threads (``chalice local``, the local runner's workers) never see each other's.

Written here instead of using Powertools' Logger, which we started with: ``make bench`` measured
its formatter at about 80 µs per line on the path every webhook takes, plus 35 ms of imports at
cold start. These lines have the same shape (level, message, timestamp, service, fields).

Settings (environment, read on the first line): ``SERVICE_NAME`` (``payment-webhooks``) and
``LOG_LEVEL`` (``INFO``).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache
from types import MappingProxyType
from typing import Any

from chalicelib.encoding import compact_json
from chalicelib.timestamps import iso_timestamp

DEFAULT_SERVICE_NAME = "payment-webhooks"
TRACE_ID_VARIABLE = "_X_AMZN_TRACE_ID"
"""Set by the Lambda runtime for each traced invocation: ``Root=1-...;Parent=...;Sampled=1``."""
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}

_invocation: ContextVar[Mapping[str, Any]] = ContextVar("invocation", default=MappingProxyType({}))
_warm_functions: set[str] = set()
"""Functions this process has invoked: in Lambda one container runs one function, locally many."""


@lru_cache(maxsize=1)
def _threshold() -> int:
    return _LEVELS.get(os.environ.get("LOG_LEVEL", "INFO").upper(), 20)


@lru_cache(maxsize=1)
def service_name() -> str:
    return os.environ.get("SERVICE_NAME") or DEFAULT_SERVICE_NAME


def trace_root(header: str | None) -> str | None:
    """The ``Root=`` part of an X-Ray trace header: the id the X-Ray console searches by."""
    for part in (header or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key == "Root" and value:
            return value
    return None


@contextmanager
def invocation(lambda_context: Any) -> Iterator[None]:
    """Every line logged inside carries this invocation's request id, cold-start flag and trace id.

    ``lambda_context`` is what Lambda passes the handler (Chalice's ``app.lambda_context`` for a
    route, ``event.context`` for other events); one without the attributes (None) gives no ids.
    """
    function = getattr(lambda_context, "function_name", None) or ""
    cold = function not in _warm_functions
    _warm_functions.add(function)
    fields = {
        "requestId": getattr(lambda_context, "aws_request_id", None),
        "coldStart": cold,
        "xrayTraceId": trace_root(os.environ.get(TRACE_ID_VARIABLE)),
    }
    token = _invocation.set({key: value for key, value in fields.items() if value is not None})
    try:
        yield
    finally:
        _invocation.reset(token)


def emit(level: str, message: str, fields: dict[str, Any]) -> None:
    if _LEVELS[level] < _threshold():
        return
    line = {
        "level": level,
        "message": message,
        "timestamp": iso_timestamp(time.time()),
        "service": service_name(),
        **_invocation.get(),
        # Absent fields are left out; a caller's field may replace a standard one.
        **{key: value for key, value in fields.items() if value is not None},
    }
    # Resolved at each call, not captured once: test capture and the local runner swap stdout.
    sys.stdout.write(compact_json(line) + "\n")


def info(message: str, **fields: Any) -> None:
    emit("INFO", message, fields)


def warning(message: str, **fields: Any) -> None:
    emit("WARNING", message, fields)


def error(message: str, **fields: Any) -> None:
    emit("ERROR", message, fields)


def error_type(exc: BaseException) -> str:
    """A safe description of an exception: its type, and AWS's error code for a ClientError."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str) and code:
            return f"{type(exc).__name__}:{code}"
    return type(exc).__name__
