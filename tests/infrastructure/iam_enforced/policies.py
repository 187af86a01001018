"""The policies the synthesized template gives each function's role, made concrete for moto.

Nothing here is hand-copied: each role's documents are read out of the template (its inline
``Policies`` and every ``AWS::IAM::Policy`` attached to it), and CloudFormation's intrinsic
functions are resolved against the emulator's real resources, matched to the template's by the
names both take from ``StageNames``.

What moto evaluates, and what it does not (moto 5.2, ``moto/iam/access_control.py``):

- **Actions**: evaluated for every service here. A call whose action no statement allows fails
  with AccessDenied, as on AWS.
- **Resources**: evaluated only where moto names the request's resource: SQS (the queue's ARN).
  DynamoDB, DynamoDB Streams, SNS, Secrets Manager and KMS requests are authorized against
  ``"*"``, which a statement scoped to an ARN never matches, so for those services the statements
  are widened to ``"*"`` here (:func:`for_moto`), and their ARNs are checked by
  :mod:`tests.infrastructure.iam_enforced.resources` instead, with moto's own policy evaluator.
- **Conditions** (``dynamodb:LeadingKeys``, ``kms:ViaService``): not evaluated (moto has no
  request context values for them). The conditions themselves are asserted on the template
  (tests/infrastructure/test_iam.py).
- **Batch APIs**: AWS authorizes ``sns:PublishBatch`` with ``sns:Publish`` and the SQS batch APIs
  with their single-message actions; moto asks for the batch API's own name, so
  :data:`AWS_AUTHORIZES_WITH` adds it where the single action is allowed (nothing more).
- **KMS through services**: moto's services never call KMS with the caller's credentials, so the
  key statements are not exercised; on AWS they are (README, post-deploy checks).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Mapping
from typing import Any

from infrastructure.names import StageNames

AWS_AUTHORIZES_WITH: Mapping[str, tuple[str, ...]] = {
    # "PublishBatch ... you need the same permissions as for Publish" (SNS API reference).
    "sns:Publish": ("sns:PublishBatch",),
    # "The permissions for a batch action are the same as for the single action" (SQS developer guide).
    "sqs:SendMessage": ("sqs:SendMessageBatch",),
    "sqs:DeleteMessage": ("sqs:DeleteMessageBatch",),
    "sqs:ChangeMessageVisibility": ("sqs:ChangeMessageVisibilityBatch",),
}
MOTO_EVALUATES_RESOURCES = frozenset({"sqs"})
"""Services whose requests moto authorizes against the real resource ARN."""

Document = dict[str, Any]
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::URLSuffix": "amazonaws.com",
}


def role_documents(template: Mapping[str, Any], role_logical_id: str) -> list[Document]:
    """Every policy document the template attaches to the role, intrinsics unresolved."""
    resources = template["Resources"]
    role = resources[role_logical_id]
    assert role["Type"] == "AWS::IAM::Role", role_logical_id
    properties = role["Properties"]
    # Managed policies would grant what the template does not show: there must be none.
    assert not properties.get("ManagedPolicyArns"), f"{role_logical_id} has managed policies"
    documents = [policy["PolicyDocument"] for policy in properties.get("Policies", [])]
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role_logical_id} in resource["Properties"]["Roles"]:
            documents.append(resource["Properties"]["PolicyDocument"])
    assert documents, f"{role_logical_id} has no policy"
    return copy.deepcopy(documents)


class Resolver:
    """Resolve ``Ref``, ``Fn::GetAtt``, ``Fn::Join``, ``Fn::Sub``, ``Fn::Select`` and ``Fn::Split``
    against concrete attributes of the template's logical resources."""

    def __init__(self, attributes: Mapping[str, Mapping[str, str]]) -> None:
        self._attributes = attributes

    def attribute(self, logical_id: str, name: str) -> str:
        try:
            return self._attributes[logical_id][name]
        except KeyError:
            raise KeyError(f"no emulator counterpart for {logical_id}.{name}") from None

    def __call__(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self(value) for value in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (function, argument), = node.items()
            if function == "Ref":
                return PSEUDO_PARAMETERS.get(argument) or self.attribute(argument, "Ref")
            if function == "Fn::GetAtt":
                logical_id, name = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.attribute(logical_id, name)
            if function == "Fn::Join":
                separator, values = argument
                return separator.join(str(value) for value in self(values))
            if function == "Fn::Select":
                index, values = argument
                return self(values)[int(self(index))]
            if function == "Fn::Split":
                separator, value = argument
                return str(self(value)).split(separator)
            if function == "Fn::Sub":
                text, variables = (argument, {}) if isinstance(argument, str) else argument
                return self._substitute(text, {name: self(value) for name, value in variables.items()})
            assert not function.startswith("Fn::"), f"unsupported intrinsic {function}"
        return {key: self(value) for key, value in node.items()}

    def _substitute(self, text: str, variables: Mapping[str, str]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(variables[name])
            if name in PSEUDO_PARAMETERS:
                return PSEUDO_PARAMETERS[name]
            if "." in name:
                return self.attribute(*name.split(".", 1))
            return self.attribute(name, "Ref")

        return re.sub(r"\$\{([^}!][^}]*)\}", replace, text)


def counterparts(
    template: Mapping[str, Any], stage: str, emulator: Mapping[str, Mapping[str, str]]
) -> dict[str, Mapping[str, str]]:
    """Logical id -> the emulator resource's attributes, matched by physical name.

    ``emulator`` maps the *local* stage's physical names (and ``"kms-key"``) to attributes. A
    template resource is matched through the name ``StageNames`` gives it in ``stage``; log
    groups, which the app never calls, get an ARN of their own name that nothing else matches.
    """
    names, local = StageNames(stage), StageNames("local")
    by_stage_name = {
        getattr(names, field): getattr(local, field)
        for field in ("table", "processing_queue", "dead_letter_queue", "audit_failure_queue", "enqueue_failure_queue",
                      "alerts_topic", "payment_events_topic", "sources_secret")
    }
    name_property = {
        "AWS::DynamoDB::Table": "TableName",
        "AWS::SQS::Queue": "QueueName",
        "AWS::SNS::Topic": "TopicName",
        "AWS::SecretsManager::Secret": "Name",
    }
    found: dict[str, Mapping[str, str]] = {}
    for logical_id, resource in template["Resources"].items():
        kind = resource["Type"]
        if kind in name_property:
            name = resource["Properties"].get(name_property[kind])
            if name in by_stage_name:
                found[logical_id] = emulator[by_stage_name[name]]
        elif kind == "AWS::KMS::Key":
            found[logical_id] = emulator["kms-key"]
        elif kind == "AWS::S3::Bucket":  # the stack's one bucket: the webhook archive
            found[logical_id] = emulator["archive-bucket"]
        elif kind == "AWS::Logs::LogGroup":
            arn = f"arn:aws:logs:us-east-1:123456789012:log-group:unmatched-{logical_id}"
            found[logical_id] = {"Arn": f"{arn}:*", "Ref": logical_id}
    return found


def resolved_documents(
    template: Mapping[str, Any], role_logical_id: str, resolver: Callable[[Any], Any]
) -> list[Document]:
    return [resolver(document) for document in role_documents(template, role_logical_id)]


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def for_moto(document: Document) -> Document:
    """The document as moto can evaluate it: batch aliases added, and resources widened to
    ``"*"`` in statements whose service moto authorizes against ``"*"`` (see the module doc)."""
    result = copy.deepcopy(document)
    for statement in _as_list(result["Statement"]):
        actions = _as_list(statement["Action"])
        statement["Action"] = actions + [alias for action in actions for alias in AWS_AUTHORIZES_WITH.get(action, ())]
        services = {action.split(":", 1)[0] for action in actions}
        if not services <= MOTO_EVALUATES_RESOURCES:
            statement["Resource"] = "*"
    return result


def without_action(documents: list[Document], action: str) -> list[Document]:
    """The documents with one action taken out of every statement (a statement left with none
    is dropped): what a forgotten grant looks like."""
    result = []
    for document in copy.deepcopy(documents):
        statements = []
        for statement in _as_list(document["Statement"]):
            actions = [a for a in _as_list(statement["Action"]) if a != action]
            if actions:
                statement["Action"] = actions
                statements.append(statement)
        document["Statement"] = statements
        result.append(document)
    return result
