"""Synthesize each stage once per test session and hand the tests the real output.

Synthesis runs ``chalice package`` inside this process, which imports ``app.py`` with the stage's
environment and writes ``chalice.out/`` into the working directory. The fixture therefore works in a
temporary directory and restores the environment, the working directory and the ``app`` module
afterwards, so the rest of the suite sees the process as it was.

``dev`` is synthesized with the optional features switched on (an alarm e-mail, reserved
concurrency, a provider range), ``prod`` exactly as cdk.json configures it plus the one thing a
deployer must add: an alert subscriber (an HTTPS endpoint here), without which prod refuses to
synthesize.
"""

from __future__ import annotations

import copy
import json
import os
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pytest

# jsii (the CDK's Node.js runtime) prints a banner about Node 20's end of life on every start.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

REPO_ROOT = Path(__file__).resolve().parents[2]
CDK_JSON = REPO_ROOT / "infrastructure" / "cdk.json"
CHALICE_CONFIG = REPO_ROOT / ".chalice" / "config.json"
STAGES_KEY = "payment-webhooks:stages"

DEV_ALERT_EMAIL = "oncall@example.com"
DEV_RESERVED = {"process_webhooks": 5}
DEV_PROVIDER_RANGES = ["192.0.2.0/24"]  # TEST-NET-1: documentation addresses
PROD_ALERT_ENDPOINT = "https://alerts.example.com/sns/payment-webhooks"  # example.com: reserved


def cdk_context() -> dict[str, Any]:
    return json.loads(CDK_JSON.read_text())["context"]


def chalice_stage(stage: str) -> dict[str, Any]:
    return json.loads(CHALICE_CONFIG.read_text())["stages"][stage]


def stage_contexts() -> dict[str, dict[str, Any]]:
    dev_stages = copy.deepcopy(cdk_context()[STAGES_KEY])
    dev_stages["dev"]["reservedConcurrency"] = DEV_RESERVED
    dev_stages["dev"]["providerSourceCidrs"] = DEV_PROVIDER_RANGES
    return {
        "dev": {"stage": "dev", "alertEmail": DEV_ALERT_EMAIL, STAGES_KEY: dev_stages},
        "prod": {"stage": "prod", "alertEndpoint": PROD_ALERT_ENDPOINT},
    }


@dataclass
class Synthesized:
    stage: str
    app: Any
    stack: Any
    outdir: Path
    template: Any = field(init=False)  # aws_cdk.assertions.Template

    def __post_init__(self) -> None:
        from aws_cdk.assertions import Template

        self.template = Template.from_stack(self.stack)

    @cached_property
    def json(self) -> dict[str, Any]:
        return self.template.to_json()

    @cached_property
    def transformed(self) -> dict[str, Any]:
        """The template after the SAM transform, as CloudFormation will deploy it."""
        return sam_transform(self.json)

    @property
    def template_path(self) -> Path:
        return self.outdir / f"{self.stack.artifact_id}.template.json"

    def resources(
        self, resource_type: str, template: dict[str, Any] | None = None
    ) -> dict[str, dict[str, Any]]:
        source = template if template is not None else self.json
        return {k: v for k, v in source["Resources"].items() if v["Type"] == resource_type}

    def one(self, resource_type: str, template: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        found = self.resources(resource_type, template)
        assert len(found) == 1, f"expected one {resource_type}, found {sorted(found)}"
        return next(iter(found.items()))

    def logical_id(self, resource_type: str, **properties: Any) -> str:
        """The logical id of the one resource of a type whose properties include these."""
        matches = [
            k
            for k, v in self.resources(resource_type).items()
            if all(v.get("Properties", {}).get(name) == value for name, value in properties.items())
        ]
        assert len(matches) == 1, f"{resource_type} {properties}: {matches}"
        return matches[0]


def sam_transform(template: dict[str, Any]) -> dict[str, Any]:
    """Run the AWS SAM transform locally (what CloudFormation does with the template)."""
    from samtranslator.translator.transform import transform

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    return transform(copy.deepcopy(template), {}, NoManagedPolicies())


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Synthesized]:
    saved_environment = dict(os.environ)
    saved_app = sys.modules.get("app")
    saved_cwd = os.getcwd()
    work = tmp_path_factory.mktemp("cdk")
    os.chdir(work)
    try:
        from infrastructure.assembly import build_app

        result: dict[str, Synthesized] = {}
        for stage, context in stage_contexts().items():
            sys.modules.pop("app", None)  # each stage imports app.py afresh, as `cdk synth` would
            outdir = work / f"cdk.out.{stage}"
            app, stack = build_app(context, outdir=str(outdir))
            app.synth()
            result[stage] = Synthesized(stage, app, stack, outdir)
        return result
    finally:
        # Restored at once, not at the end of the session: chalice package left the last stage's
        # variables (CDK tokens among them) in os.environ, and subprocesses inherit them.
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environment)
        if saved_app is not None:
            sys.modules["app"] = saved_app
        else:
            sys.modules.pop("app", None)


@pytest.fixture(scope="session", params=["dev", "prod"])
def stage(request: pytest.FixtureRequest, synthesized: dict[str, Synthesized]) -> Synthesized:
    """Each test that takes ``stage`` runs for both stages."""
    return synthesized[request.param]


@pytest.fixture(scope="session")
def dev(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["dev"]


@pytest.fixture(scope="session")
def prod(synthesized: dict[str, Synthesized]) -> Synthesized:
    return synthesized["prod"]
