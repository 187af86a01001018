"""Count the app's AWS calls in the running local stack (opt-in, for `make bench`).

With ``PAYMENT_WEBHOOKS_COUNT_AWS_CALLS=1`` the runner registers botocore hooks on the app's own
clients (``runtime.services().aws``: the ones every handler uses), so each call the app makes is
counted where it is made, by the function making it, with botocore's own events:

- ``before-call``: one API call, as the app asked for it (what the code decides);
- ``before-send``: one HTTP request on the wire (retries included: what AWS bills).

The function is the Lambda function the call belongs to: the handler :mod:`devstack.lambdas`
is running (it sets :data:`FUNCTION`), else ``api_handler`` (the HTTP route). Counts go to
``<state dir>/aws-calls.json`` after every call, so a client reading the file after an answer or
after a record became final sees every call that led there. Nothing of this runs unless asked
for, and none of it is in ``chalicelib``: the deployed functions carry no counting.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any

ENABLE_VARIABLE = "PAYMENT_WEBHOOKS_COUNT_AWS_CALLS"
FILE_NAME = "aws-calls.json"
SERVICES = ("dynamodb", "sqs", "sns", "secretsmanager")
ROUTE_FUNCTION = "api_handler"

FUNCTION: ContextVar[str] = ContextVar("payment_webhooks_function", default=ROUTE_FUNCTION)
"""The Lambda function running in this thread (set by :meth:`devstack.lambdas.Function.invoke`)."""


def enabled(environ: Mapping[str, str]) -> bool:
    return environ.get(ENABLE_VARIABLE) == "1"


class CallCounter:
    """Counts per (function, service, operation); written to ``path`` after each change."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.calls: Counter[tuple[str, str, str]] = Counter()
        self.requests: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()
        self._write()

    def attach(self, client: Any, service: str) -> None:
        events = client.meta.events
        events.register("before-call", self._hook(self.calls, service), unique_id=f"count-call-{service}")
        events.register("before-send", self._hook(self.requests, service), unique_id=f"count-send-{service}")

    def _hook(self, counter: Counter[tuple[str, str, str]], service: str) -> Any:
        def count(**kwargs: Any) -> None:
            operation = kwargs["event_name"].rsplit(".", 1)[-1]  # e.g. before-send.dynamodb.PutItem
            with self._lock:
                counter[(FUNCTION.get(), service, operation)] += 1
                self._write()

        return count

    def snapshot(self) -> dict[str, Any]:
        def rows(counter: Counter[tuple[str, str, str]]) -> list[dict[str, Any]]:
            return [
                {"function": f, "service": s, "operation": o, "count": n}
                for (f, s, o), n in sorted(counter.items())
            ]

        return {"calls": rows(self.calls), "requests": rows(self.requests)}

    def _write(self) -> None:
        temporary = self.path.with_name(self.path.name + ".tmp")
        temporary.write_text(json.dumps(self.snapshot()))
        os.replace(temporary, self.path)


def install(aws: Any, state_dir: Path) -> CallCounter:
    """Count every call of the app's clients (``aws`` is ``runtime.services().aws``)."""
    counter = CallCounter(state_dir / FILE_NAME)
    for service in SERVICES:
        counter.attach(getattr(aws, service), service)
    return counter


def read(state_dir: Path) -> dict[str, Any]:
    """What a running stack has counted so far (empty when counting is off)."""
    try:
        return json.loads((state_dir / FILE_NAME).read_text())
    except (FileNotFoundError, ValueError):
        return {"calls": [], "requests": []}
