"""Shared fixtures: a moto-backed stack with every resource the app uses, and the app's client."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

# Never let a test reach real AWS, whatever the machine's environment holds.
os.environ.update(
    {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
    }
)
os.environ.pop("AWS_PROFILE", None)
os.environ.pop("AWS_ENDPOINT_URL", None)

from hypothesis import HealthCheck, settings  # noqa: E402

from tests import samples  # noqa: E402

pytest_plugins = ["tests.leakcheck"]

# Property-based tests: a fixed, derandomized run in `make test` (CI-sized and repeatable), and a
# long random one behind `make fuzz` (HYPOTHESIS_PROFILE=long).
settings.register_profile(
    "ci",
    derandomize=True,
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "long",
    max_examples=3000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[StackFixture]:
    import boto3
    from moto import mock_aws

    from chalicelib import runtime
    from chalicelib.settings import Settings
    from devstack.resources import ensure_stack

    # The `local` stage's names and settings: chalice's test client applies that stage's
    # environment from .chalice/config.json on every invocation anyway.
    monkeypatch.setenv("STAGE", "local")
    with mock_aws():
        session = boto3.session.Session()
        resources = ensure_stack(session, Settings.from_environment(), samples.SOURCES)
        for name, value in resources.environment().items():
            monkeypatch.setenv(name, value)
        runtime.reset()
        yield StackFixture(session, resources)
        runtime.reset()


class StackFixture:
    def __init__(self, session, resources) -> None:
        self.session = session
        self.resources = resources
        self.dynamodb = session.client("dynamodb")
        self.sqs = session.client("sqs")
        self.sns = session.client("sns")

    def items(self) -> list[dict]:
        return self.dynamodb.scan(TableName=self.resources.table_name)["Items"]

    def webhook_items(self) -> list[dict]:
        """The webhook records only (not the dedupe and transmission markers stored beside them)."""
        return [item for item in self.items() if item.get("itemType", {}).get("S") == "webhook"]

    def drain(self, queue_url: str | None = None, max_messages: int = 10) -> list[dict]:
        """Receive (and delete) what is on a queue, as Lambda's poller would hand it over."""
        url = queue_url or self.resources.queue_url
        messages: list[dict] = []
        while True:
            batch = self.sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=max_messages, AttributeNames=["All"]
            ).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            messages.extend(batch)

    def subscribe_queue(self, topic_arn: str, name: str) -> str:
        url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn, Attributes={"RawMessageDelivery": "true"})
        return url


@pytest.fixture
def client(stack: StackFixture):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="local") as test_client:
        yield test_client


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """`make test` runs on two pytest-xdist workers with `--dist loadgroup`. An end-to-end module's
    tests stay on one worker (its module-scoped local stack starts once, not once per worker), and
    tests/infrastructure is one group (its session-scoped CDK synthesis runs once). Every other test
    goes wherever a worker is free: their module fixtures (a moto world) cost a second to repeat,
    and one module's slow scenarios (tests/reliability) must not all queue on one worker."""
    root = config.rootpath
    for item in items:
        parts = item.path.relative_to(root).parts
        if parts[:2] == ("tests", "infrastructure"):
            item.add_marker(pytest.mark.xdist_group("tests/infrastructure"))
        elif parts[:2] == ("tests", "e2e"):
            item.add_marker(pytest.mark.xdist_group("/".join(parts)))
