"""Answer the app's AWS calls in-process, after botocore has serialized each request.

Registered as a ``before-send`` hook, so everything of ours and of botocore up to the wire runs
for real; only the network round trip is skipped. Used to time the route handler itself.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from typing import Any

from botocore.awsrequest import AWSResponse


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any):  # type: ignore[no-untyped-def]
        yield self._body

    def read(self, *_: Any) -> bytes:
        return self._body


class StubAws:
    """Canned answers per operation; counts the calls it answers."""

    def __init__(self, sources_document: dict[str, Any]) -> None:
        self.calls: Counter[str] = Counter()
        self._sources = json.dumps(sources_document)

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-send", self._answer)

    def _answer(self, request: Any, **_: Any) -> AWSResponse:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else target
        operation = target.rsplit(".", 1)[-1]
        self.calls[operation] += 1
        body = json.loads(request.body or b"{}")
        if operation == "GetSecretValue":
            answer: dict[str, Any] = {"Name": body["SecretId"], "SecretString": self._sources}
        elif operation == "SendMessage":
            answer = {"MessageId": "stub", "MD5OfMessageBody": hashlib.md5(body["MessageBody"].encode()).hexdigest()}
        elif operation == "SendMessageBatch":
            answer = {"Successful": [
                {"Id": entry["Id"], "MessageId": "stub", "MD5OfMessageBody": hashlib.md5(entry["MessageBody"].encode()).hexdigest()}
                for entry in body["Entries"]
            ], "Failed": []}
        elif operation == "GetQueueUrl":
            answer = {"QueueUrl": "https://sqs.us-east-1.amazonaws.com/123456789012/stub"}
        else:  # PutItem, UpdateItem, Publish: an empty success is enough for the ingest path
            answer = {}
        return AWSResponse(request.url, 200, {"Content-Type": "application/x-amz-json-1.0"}, _Raw(json.dumps(answer).encode()))


class StubClient:
    """A client whose every operation answers at once with an empty success.

    For the handler-time figure: it isolates our own work on the request (checks, verification,
    record, response, log line) from botocore's per-call cost, which the call counts cover.
    """

    def __init__(self, answers: dict[str, Any] | None = None) -> None:
        self.calls: Counter[str] = Counter()
        self._answers = answers or {}

    def __getattr__(self, operation: str) -> Any:
        if operation.startswith("_"):
            raise AttributeError(operation)

        def call(**_: Any) -> Any:
            self.calls[operation] += 1
            return self._answers.get(operation, {})

        return call
