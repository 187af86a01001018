"""Structured logging: one JSON object per line on stdout, which Lambda ships to CloudWatch Logs.

Fields sit at the top level so CloudWatch Logs Insights and metric filters can query them
(``{ $.error = "invalid_signature" }``). Nothing logged may carry a secret, a signature, a raw
payload or exception text: callers pass only identifiers, codes and exception *type* names (see
:func:`error_type`), and the test suite fails any test during which a log line leaks one.

Every line made during a handler's invocation also carries that invocation's ``requestId`` (the
Lambda request id), ``coldStart: true`` on the container's first invocation of the function (absent
on the others) and ``xrayTraceId`` when X-Ray records the invocation's trace, so one webhook's lines
can be found together and next to its trace. Each handler in app.py opens :func:`invocation`; a
contextvar carries the fields, so threads (``chalice local``, the local runner's workers) never
see each other's. Two exceptions keep bytes off millions of lines (docs/PERFORMANCE.md, "Cost"):
Lambda hands every invocation of a traced function a trace id, sampled or not, and only a sampled
one (``Sampled=1``) leads to a trace, so the others are not written; and the audit's change
records (:func:`change`) are identified by the stream, not by the invocation that logged them.

Written here instead of using Powertools' Logger, which we started with: ``make bench`` measured
its formatter at about 80 µs per line on the path every webhook takes, plus 35 ms of imports at
cold start. These lines have its shape (level, message, timestamp, fields) but for its ``service``
field: one app writes these groups, and each group's name says which function of which stage
(``/aws/lambda/payment-webhooks-prod-api_handler``), so the field would repeat, on every line,
what CloudWatch already records once per group (~30 bytes a line, docs/PERFORMANCE.md "Cost").

Setting (environment, read on the first line): ``LOG_LEVEL`` (``INFO``).
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

TRACE_ID_VARIABLE = "_X_AMZN_TRACE_ID"
"""Set by the Lambda runtime for each traced invocation: ``Root=1-...;Parent=...;Sampled=1``."""
_LEVELS = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40}

_invocation: ContextVar[Mapping[str, Any]] = ContextVar("invocation", default=MappingProxyType({}))
_warm_functions: set[str] = set()
"""Functions this process has invoked: in Lambda one container runs one function, locally many."""


@lru_cache(maxsize=1)
def _threshold() -> int:
    return _LEVELS.get(os.environ.get("LOG_LEVEL", "INFO").upper(), 20)


def sampled_trace_root(header: str | None) -> str | None:
    """The ``Root=`` part of an X-Ray trace header (the id the X-Ray console searches by) when the
    trace is sampled (``Sampled=1``: X-Ray records it), else None."""
    fields = _trace_fields(header)
    return (fields.get("Root") or None) if fields.get("Sampled") == "1" else None


def _trace_fields(header: str | None) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in (header or "").split(";"):
        key, _, value = part.strip().partition("=")
        fields.setdefault(key, value)
    return fields


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
        "coldStart": True if cold else None,  # the exception is what is worth a field
        "xrayTraceId": sampled_trace_root(os.environ.get(TRACE_ID_VARIABLE)),
    }
    token = _invocation.set({key: value for key, value in fields.items() if value is not None})
    try:
        yield
    finally:
        _invocation.reset(token)


def emit(level: str, message: str, fields: dict[str, Any], with_invocation: bool = True) -> None:
    if _LEVELS[level] < _threshold():
        return
    line = {
        "level": level,
        "message": message,
        "timestamp": iso_timestamp(time.time()),
        **(_invocation.get() if with_invocation else {}),
        # Absent fields are left out; a caller's field may replace a standard one.
        **{key: value for key, value in fields.items() if value is not None},
    }
    # Resolved at each call, not captured once: test capture and the local runner swap stdout.
    sys.stdout.write(compact_json(line) + "\n")


def info(message: str, **fields: Any) -> None:
    emit("INFO", message, fields)


def change(message: str, **fields: Any) -> None:
    """An INFO line that records a change of the table (the audit's): the stream's sequence number
    and the change's time identify it, so it carries none of the invocation's fields, which the
    ~3 such lines per webhook would repeat (~50 bytes each, docs/PERFORMANCE.md "Cost"). The
    invocation's own lines, its errors among them, still carry them."""
    emit("INFO", message, fields, with_invocation=False)


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
