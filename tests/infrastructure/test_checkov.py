"""checkov, an independent scanner, on both stages' templates: no finding without a written reason.

checkov runs from its own virtualenv (``.venv-checkov``), installed on first use from
``requirements-checkov.txt`` exactly as ``make synth`` does, so ``make test`` on a clean clone
needs only the package registry. Each scan takes about ten seconds.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from infrastructure.checkov_scan import MIN_REASON_LENGTH, scan
from infrastructure.checkov_skips import skipped_checks
from tests.infrastructure.conftest import Synthesized

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def templates(synthesized: dict[str, Synthesized]) -> list[Path]:
    return [synthesized[stage].template_path for stage in ("dev", "prod")]


def test_checkov_finds_nothing_unexplained_in_either_stage(templates: list[Path]) -> None:
    result = scan(templates)
    assert result.failed == [], "\n".join(result.failed)
    assert result.unexplained_skips == [], "\n".join(result.unexplained_skips)
    assert result.passed > 100  # it really checked the resources (KMS, SQS, SNS, DynamoDB, WAF...)
    assert result.ok


def test_every_skip_names_one_check_and_says_why(stage: Synthesized) -> None:
    skips = skipped_checks(stage.json["Resources"])
    assert skips
    for logical_id, entries in skips.items():
        ids = [entry["id"] for entry in entries]
        assert len(ids) == len(set(ids)), logical_id
        for entry in entries:
            assert entry["id"].startswith("CKV_AWS_"), (logical_id, entry)
            assert len(entry["comment"]) >= MIN_REASON_LENGTH, (logical_id, entry)


def test_a_finding_without_a_reason_fails_the_scan(tmp_path: Path, prod: Synthesized) -> None:
    # GIVEN prod's template with one skip removed and another one's reason emptied
    template = copy.deepcopy(prod.json)
    resources = template["Resources"]
    skips = skipped_checks(resources)
    dropped_from, kept_on = sorted(skips)[:2]
    resources[dropped_from]["Metadata"]["checkov"]["skip"] = skips[dropped_from][1:]
    emptied = resources[kept_on]["Metadata"]["checkov"]["skip"][0]
    emptied["comment"] = "needed"
    path = tmp_path / "prod.template.json"
    path.write_text(json.dumps(template))
    # WHEN checkov scans it
    result = scan([path])
    # THEN the unskipped finding and the unexplained skip both fail it
    assert not result.ok
    assert any(skips[dropped_from][0]["id"] in line and dropped_from in line for line in result.failed)
    assert any(emptied["id"] in line and kept_on in line for line in result.unexplained_skips)
