"""AWS clients, created lazily and once per container.

Nothing here runs at import. The endpoint comes from botocore's own ``AWS_ENDPOINT_URL`` support,
so the same code talks to AWS, to moto in-process or to ``moto_server`` without a branch.

Timeouts are short and retries bounded: a provider gives up on us after about 10 s, and a 503
that makes it retry later is better than a timeout that leaves it guessing.

Tracing patches only botocore, and only when tracing is on: ``patch_all()`` walks every library
the SDK knows and costs far more at cold start than the one patch we need.
"""

from __future__ import annotations

import threading
from typing import Any

from chalicelib.settings import Settings

_CLIENT_CONFIG = {
    "connect_timeout": 2,
    "read_timeout": 5,
    "retries": {"mode": "standard", "max_attempts": 3},
}

_lock = threading.Lock()
_tracing_patched = False


def _patch_tracing_once() -> None:
    global _tracing_patched
    if _tracing_patched:
        return
    from aws_xray_sdk.core import patch

    patch(["botocore"])
    _tracing_patched = True


class AwsClients:
    """The four clients the Lambdas use; each built on first access."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._clients: dict[str, Any] = {}
        self._session: Any = None

    def _client(self, service: str) -> Any:
        client = self._clients.get(service)
        if client is None:
            with _lock:
                client = self._clients.get(service)
                if client is None:
                    import boto3
                    from botocore.config import Config

                    if self._settings.tracing:
                        _patch_tracing_once()
                    if self._session is None:
                        # One session for all clients: each new session reloads botocore's
                        # data (about 50 ms per client at cold start, measured by `make bench`).
                        self._session = boto3.session.Session()
                    client = self._session.client(service, config=Config(**_CLIENT_CONFIG))
                    self._clients[service] = client
        return client

    @property
    def dynamodb(self) -> Any:
        return self._client("dynamodb")

    @property
    def sqs(self) -> Any:
        return self._client("sqs")

    @property
    def sns(self) -> Any:
        return self._client("sns")

    @property
    def secretsmanager(self) -> Any:
        return self._client("secretsmanager")

    @property
    def s3(self) -> Any:
        """Only the audit uses it (the webhook archive)."""
        return self._client("s3")
