"""Resource-level scoping where moto does not evaluate it: every AWS call a function made, with the
ARN it touched, judged by moto's own policy evaluator against the role's unwidened documents.

The calls are recorded on the app's own botocore clients (a ``before-parameter-build`` hook,
which sees the API parameters), so what is judged is what the code really asked for.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.iam.access_control import IAMPolicy, PermissionResult

from tests.infrastructure.iam_enforced.policies import AWS_AUTHORIZES_WITH, Document

SIGNING_PREFIX = {"dynamodbstreams": "dynamodb"}


@dataclass(frozen=True)
class Call:
    action: str
    resource: str


@dataclass
class CallRecorder:
    """Calls made by clients created while it is installed, as (IAM action, resource ARN)."""

    arns: Mapping[str, str]
    """Physical names and URLs (table name, queue URL, secret name) -> ARN."""
    calls: list[Call] = field(default_factory=list)

    def hook(self, service: str) -> Any:
        prefix = SIGNING_PREFIX.get(service, service)

        def record(model: Any, params: Mapping[str, Any], **_: Any) -> None:
            for resource in self.resources_of(service, params):
                self.calls.append(Call(f"{prefix}:{model.name}", resource))

        return record

    def resources_of(self, service: str, params: Mapping[str, Any]) -> list[str]:
        if service == "dynamodb":
            tables = [params["TableName"]] if "TableName" in params else list(params.get("RequestItems", {}))
            arns = [self.arns[table] for table in tables]
            if "IndexName" in params:
                return [f"{arn}/index/{params['IndexName']}" for arn in arns]
            return arns
        if service == "sns":
            return [params["TopicArn"]]
        if service == "sqs":
            return [self.arns[params["QueueUrl"]]]
        if service == "s3":
            return [f"arn:aws:s3:::{params['Bucket']}/{params['Key']}" if "Key" in params
                    else f"arn:aws:s3:::{params['Bucket']}"]
        if service == "secretsmanager":
            return [self.arns.get(params["SecretId"], params["SecretId"])]
        raise AssertionError(f"unexpected service {service}")


@contextmanager
def recording(recorder: CallRecorder) -> Iterator[CallRecorder]:
    """Record the calls of every client :class:`chalicelib.aws.AwsClients` hands out meanwhile."""
    from chalicelib import aws

    original = aws.AwsClients._client

    def client_with_hook(self: Any, service: str) -> Any:
        client = original(self, service)
        client.meta.events.register(
            "before-parameter-build", recorder.hook(service), unique_id="iam-tier-recorder"
        )
        return client

    aws.AwsClients._client = client_with_hook  # type: ignore[method-assign]  # records every client's calls
    try:
        yield recorder
    finally:
        aws.AwsClients._client = original  # type: ignore[method-assign]  # records every client's calls


def denied(calls: list[Call], documents: list[Document]) -> list[Call]:
    """The calls no statement of the documents allows on their resource (conditions aside)."""
    policies = [IAMPolicy(json.dumps(_with_batch_aliases(document))) for document in documents]
    refused = []
    for call in dict.fromkeys(calls):
        results = [policy.is_action_permitted(call.action, call.resource) for policy in policies]
        if PermissionResult.DENIED in results or PermissionResult.PERMITTED not in results:
            refused.append(call)
    return refused


def _with_batch_aliases(document: Document) -> Document:
    result = json.loads(json.dumps(document))
    statements = result["Statement"] if isinstance(result["Statement"], list) else [result["Statement"]]
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        statement["Action"] = actions + [a for action in actions for a in AWS_AUTHORIZES_WITH.get(action, ())]
    return result
