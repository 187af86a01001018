"""Which AWS (the local emulator, or a real account) and which resource names a command works on.

``--stage local`` (the default) finds the stack `make run` started through ``.local/stack.json``
(``devstack.state``) and talks to its emulator with dummy credentials: it never needs, nor uses,
the caller's AWS credentials. Any other stage uses the caller's credentials (``AWS_PROFILE``,
environment, SSO...) and that stage's names from ``.chalice/config.json``, the same variables the
deployed functions get; the dead-letter queue is found through the processing queue's redrive
policy, so it needs no name of its own.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.archive import WebhookArchive
from chalicelib.payments.store import PaymentStore
from chalicelib.queue import ProcessingQueue
from chalicelib.settings import Settings
from chalicelib.webhooks.store import WebhookStore
from devstack.state import CREDENTIALS, REGION, REPOSITORY, Paths, read_stack
from providers_tooling.contract import SigningMaterial

LOCAL = "local"
CONFIG_FILE = REPOSITORY / ".chalice" / "config.json"


class OpsError(Exception):
    """Wrong input or an unusable environment; the message is the one line the user sees."""


@dataclass
class StageTarget:
    stage: str
    session: Any
    endpoint_url: str | None
    table_name: str
    queue_name: str
    sources_secret_id: str
    queue_url: str | None = None
    dlq_url: str | None = None
    app_url: str | None = None
    """Where webhooks are POSTed, when known (the local stack); other stages need ``--url``."""
    archive_bucket: str = ""
    """The webhook archive's bucket (``ARCHIVE_BUCKET_NAME``; the stack's ``ArchiveBucketName``)."""
    local_material: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Signing material only the local stack holds, by provider (PayPal: its key and certificate URL)."""
    _clients: dict[str, Any] = field(default_factory=dict)

    @property
    def is_local(self) -> bool:
        return self.stage == LOCAL

    def client(self, service: str) -> Any:
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint_url)
        return self._clients[service]

    def store(self) -> WebhookStore:
        return WebhookStore(self.client("dynamodb"), self.table_name)

    def archive(self) -> WebhookArchive | None:
        return WebhookArchive(self.client("s3"), self.archive_bucket) if self.archive_bucket else None

    def payments(self) -> PaymentStore:
        return PaymentStore(self.client("dynamodb"), self.table_name)

    def processing_queue_url(self) -> str:
        if self.queue_url is None:
            self.queue_url = ProcessingQueue(self.client("sqs"), self.queue_name).url
        return self.queue_url

    def queue(self) -> ProcessingQueue:
        return ProcessingQueue(self.client("sqs"), self.queue_name, self.processing_queue_url())

    def dead_letter_queue_url(self) -> str:
        if self.dlq_url is None:
            sqs = self.client("sqs")
            attributes = sqs.get_queue_attributes(
                QueueUrl=self.processing_queue_url(), AttributeNames=["RedrivePolicy"]
            )["Attributes"]
            try:
                target = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
            except (KeyError, ValueError):
                raise OpsError(f"the processing queue {self.queue_name} has no dead-letter queue") from None
            self.dlq_url = sqs.get_queue_url(QueueName=target.rsplit(":", 1)[-1])["QueueUrl"]
        return self.dlq_url

    def signing_material(self, source: str) -> SigningMaterial:
        """What signing for ``source`` (a configured source name) takes in this stage."""
        configured = self.sources()
        entry = configured.get(source)
        if not isinstance(entry, dict):
            raise OpsError(f"unknown source {source!r}; sources of stage {self.stage}: {', '.join(sorted(configured))}")
        provider = str(entry.get("provider", source))
        return SigningMaterial.from_source(entry, provider, self.local_material.get(provider))

    def sources(self) -> dict[str, Any]:
        """The stage's ``sources`` object, from its Secrets Manager secret."""
        response = self.client("secretsmanager").get_secret_value(SecretId=self.sources_secret_id)
        try:
            document = json.loads(response["SecretString"])
            return dict(document["sources"])
        except (KeyError, TypeError, ValueError):
            raise OpsError(f"the secret {self.sources_secret_id} is not a sources document") from None


def stage_environment(stage: str, config_file: Path = CONFIG_FILE) -> dict[str, str]:
    """A stage's environment variables from ``.chalice/config.json`` (top level, then the stage)."""
    try:
        config = json.loads(config_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        raise OpsError(f"cannot read {config_file}") from None
    stages = config.get("stages", {})
    if stage not in stages:
        raise OpsError(f"unknown stage {stage!r}; stages in .chalice/config.json: {', '.join(stages)}")
    return {**config.get("environment_variables", {}), **stages[stage].get("environment_variables", {})}


def _local_session() -> Any:
    import boto3

    # This process talks to the emulator only: the caller's profile, token and endpoint settings
    # must not leak into it (an unknown AWS_PROFILE would even make boto3 refuse to start).
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    paths = Paths.default()
    os.environ["AWS_CONFIG_FILE"] = str(paths.aws_config)
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = str(paths.aws_config)
    os.environ["NO_PROXY"] = ",".join(filter(None, [os.environ.get("NO_PROXY", ""), "127.0.0.1", "localhost"]))
    return boto3.session.Session(
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    )


def local_target() -> StageTarget:
    stack = read_stack()
    resources = stack["resources"]
    paypal = stack.get("paypal") or {}
    local_material: dict[str, dict[str, Any]] = {}
    if paypal.get("signingKeyFile") and paypal.get("certUrl"):
        try:
            local_material["paypal"] = {
                "key_pem": Path(paypal["signingKeyFile"]).read_bytes(), "cert_url": paypal["certUrl"]
            }
        except OSError:
            pass
    return StageTarget(
        stage=LOCAL,
        session=_local_session(),
        endpoint_url=stack["endpointUrl"],
        table_name=resources["table_name"],
        queue_name=resources["queue_url"].rsplit("/", 1)[-1],
        sources_secret_id=resources["secret_id"],
        queue_url=resources["queue_url"],
        dlq_url=resources["dlq_url"],
        app_url=stack["appUrl"],
        archive_bucket=resources.get("archive_bucket", ""),
        local_material=local_material,
    )


def remote_target(stage: str) -> StageTarget:
    import boto3

    # The names and their defaults exactly as the deployed functions read them from this environment.
    settings = Settings.from_environment({"STAGE": stage, **stage_environment(stage)})
    return StageTarget(
        stage=stage,
        session=boto3.session.Session(),
        endpoint_url=None,
        table_name=settings.table_name,
        queue_name=settings.processing_queue_name,
        sources_secret_id=settings.sources_secret_id,
        queue_url=settings.processing_queue_url,
        archive_bucket=settings.archive_bucket_name,
    )


def resolve(stage: str) -> StageTarget:
    return local_target() if stage == LOCAL else remote_target(stage)
