"""An emulator that enforces IAM, and each function's role as the synthesized template defines it.

One ``moto_server`` per module (DynamoDB Streams' ``DescribeStream`` needs the server). Per test
the emulator is reset, the local stack is created with IAM enforcement off, the roles are created
from the ``dev`` template's policies and assumed, and then enforcement is switched on: from there
every call needs credentials and a policy that allows it. The test's own reads go through an
administrator user; the app's calls go through the role of the function that makes them.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from infrastructure.names import FUNCTIONS, StageNames
from tests import samples
from tests.infrastructure.iam_enforced.policies import (
    Document,
    Resolver,
    counterparts,
    for_moto,
    resolved_documents,
    without_action,
)
from tests.infrastructure.iam_enforced.resources import CallRecorder, recording

REGION = "us-east-1"
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def _post(url: str, data: bytes = b"") -> None:
    # text/plain: moto reads the raw body, which a form content type would hand to the form parser.
    request = urllib.request.Request(url, data=data, method="POST", headers={"Content-Type": "text/plain"})
    urllib.request.urlopen(request, timeout=10).read()


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    from devstack.emulator import free_port

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "devstack.motoserver", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).read()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                raise RuntimeError("moto_server did not start") from None
            time.sleep(0.2)
    try:
        yield endpoint
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class EnforcedStack:
    endpoint: str
    admin: Any
    """A boto3 session of an administrator: the test's own view of the emulator."""
    resources: Any
    documents: dict[str, list[Document]]
    """Function name -> its role's documents, resolved (unwidened)."""
    credentials: dict[str, dict[str, str]]
    recorder: CallRecorder
    monkeypatch: pytest.MonkeyPatch
    calls_by_function: dict[str, list[Any]] = field(default_factory=dict)

    @contextmanager
    def as_function(self, name: str) -> Iterator[None]:
        """Run the app (and Lambda's poller for it) with ``name``'s role credentials."""
        from chalicelib import runtime

        with self.monkeypatch.context() as patch:
            for variable, value in self.credentials[name].items():
                patch.setenv(variable, value)
            runtime.reset()
            start = len(self.recorder.calls)
            try:
                yield
            finally:
                self.calls_by_function.setdefault(name, []).extend(self.recorder.calls[start:])
                runtime.reset()

    def role_session(self, name: str) -> Any:
        import boto3

        credentials = self.credentials[name]
        return boto3.session.Session(
            aws_access_key_id=credentials["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=credentials["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=credentials["AWS_SESSION_TOKEN"],
            region_name=REGION,
        )

    def items(self) -> list[dict[str, Any]]:
        return self.admin.client("dynamodb").scan(TableName=self.resources.table_name)["Items"]


def _emulator_attributes(session: Any, resources: Any) -> tuple[dict[str, Mapping[str, str]], dict[str, str]]:
    """Local physical name -> attributes as CloudFormation would give them; and name/URL -> ARN."""
    local = StageNames("local")
    sqs = session.client("sqs")
    audit_failure_url = sqs.create_queue(QueueName=local.audit_failure_queue)["QueueUrl"]
    enqueue_failure_url = sqs.create_queue(QueueName=local.enqueue_failure_queue)["QueueUrl"]

    def queue(url: str) -> Mapping[str, str]:
        arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return {"Ref": url, "Arn": arn, "QueueName": arn.rsplit(":", 1)[1]}

    table_arn = session.client("dynamodb").describe_table(TableName=resources.table_name)["Table"]["TableArn"]
    secret_arn = session.client("secretsmanager").describe_secret(SecretId=resources.secret_id)["ARN"]
    key_arn = session.client("kms").describe_key(KeyId=resources.kms_key_id)["KeyMetadata"]["Arn"]
    emulator: dict[str, Mapping[str, str]] = {
        local.table: {"Ref": resources.table_name, "Arn": table_arn, "StreamArn": resources.table_stream_arn},
        local.processing_queue: queue(resources.queue_url),
        local.dead_letter_queue: queue(resources.dlq_url),
        local.audit_failure_queue: queue(audit_failure_url),
        local.enqueue_failure_queue: queue(enqueue_failure_url),
        local.alerts_topic: {"Ref": resources.alerts_topic_arn, "TopicArn": resources.alerts_topic_arn},
        local.payment_events_topic: {
            "Ref": resources.payment_events_topic_arn, "TopicArn": resources.payment_events_topic_arn,
        },
        local.sources_secret: {"Ref": secret_arn, "Id": secret_arn},
        "kms-key": {"Ref": resources.kms_key_id, "Arn": key_arn, "KeyId": resources.kms_key_id},
        "archive-bucket": {"Ref": resources.archive_bucket, "Arn": f"arn:aws:s3:::{resources.archive_bucket}"},
    }
    arns = {
        resources.table_name: table_arn,
        resources.queue_url: emulator[local.processing_queue]["Arn"],
        resources.dlq_url: emulator[local.dead_letter_queue]["Arn"],
        audit_failure_url: emulator[local.audit_failure_queue]["Arn"],
        enqueue_failure_url: emulator[local.enqueue_failure_queue]["Arn"],
        resources.secret_id: secret_arn,
        secret_arn: secret_arn,
    }
    return emulator, arns


Build = Callable[..., EnforcedStack]


@pytest.fixture
def enforced_stack(
    moto_endpoint: str, dev: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Build]:
    """``enforced_stack(without={"process_webhooks": "dynamodb:BatchGetItem"})`` builds the world,
    optionally with one action taken out of a role's policy."""
    import boto3

    from chalicelib import runtime
    from chalicelib.settings import Settings
    from devstack.resources import ensure_stack

    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("STAGE", "local")
    _post(f"{moto_endpoint}/moto-api/reset-auth", b"inf")
    _post(f"{moto_endpoint}/moto-api/reset")

    def build(without: Mapping[str, str] | None = None) -> EnforcedStack:
        bootstrap = boto3.session.Session(region_name=REGION)  # the suite's dummy keys: auth is off
        iam, sts = bootstrap.client("iam"), bootstrap.client("sts")
        iam.create_user(UserName="iam-tier-admin")
        iam.put_user_policy(UserName="iam-tier-admin", PolicyName="admin", PolicyDocument=json.dumps(ADMIN))
        key = iam.create_access_key(UserName="iam-tier-admin")["AccessKey"]
        admin = boto3.session.Session(
            aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"], region_name=REGION
        )
        resources = ensure_stack(admin, Settings.from_environment(), samples.SOURCES)
        for name, value in resources.environment().items():
            monkeypatch.setenv(name, value)
        emulator, arns = _emulator_attributes(admin, resources)
        recorder.arns = arns
        resolver = Resolver(counterparts(dev.json, "dev", emulator))
        documents: dict[str, list[Document]] = {}
        credentials: dict[str, dict[str, str]] = {}
        for function in FUNCTIONS:
            docs = resolved_documents(dev.json, function.role_logical_id, resolver)
            documents[function.name] = docs
            granted = without_action(docs, without[function.name]) if without and function.name in without else docs
            role = iam.create_role(RoleName=function.role_logical_id, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
            for number, document in enumerate(granted):
                iam.put_role_policy(
                    RoleName=function.role_logical_id, PolicyName=f"policy{number}",
                    PolicyDocument=json.dumps(for_moto(document)),
                )
            assumed = sts.assume_role(RoleArn=role["Role"]["Arn"], RoleSessionName=function.name)["Credentials"]
            credentials[function.name] = {
                "AWS_ACCESS_KEY_ID": assumed["AccessKeyId"],
                "AWS_SECRET_ACCESS_KEY": assumed["SecretAccessKey"],
                "AWS_SESSION_TOKEN": assumed["SessionToken"],
            }
        # From here on, every call is authenticated and authorized.
        _post(f"{moto_endpoint}/moto-api/reset-auth", b"0")
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAUNKNOWNTOTHEEMULATOR")  # nothing runs unnoticed as "testing"
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        runtime.reset()
        return EnforcedStack(moto_endpoint, admin, resources, documents, credentials, recorder, monkeypatch)

    recorder = CallRecorder(arns={})
    with recording(recorder):
        yield build
    _post(f"{moto_endpoint}/moto-api/reset-auth", b"inf")
    runtime.reset()


@pytest.fixture
def enforced_client(enforced_stack: Build) -> Iterator[Any]:
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as client:
        yield client
