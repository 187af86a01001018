"""An AWS client stand-in that answers every call at once, for timing the route handler.

It isolates our own work on the request (checks, verification, record, response, log line) from
AWS and botocore, whose per-call cost the call counts of figure 3a cover: a call through a real
client serializes, signs and sends a request, hundreds of times the work measured here.
"""

from __future__ import annotations

from typing import Any


class StubClient:
    """Every operation answers at once: with ``answers[operation]``, else an empty success."""

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self._answers = answers or {}

    def __getattr__(self, operation: str) -> Any:
        if operation.startswith("_"):
            raise AttributeError(operation)
        answer = self._answers.get(operation, {})

        def call(**_: Any) -> Any:
            return answer

        # Kept as an attribute: later calls find it directly, so the stub costs what looking up a
        # client's bound method costs, not a new closure per call.
        setattr(self, operation, call)
        return call
