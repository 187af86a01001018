"""Run checkov on synthesized templates: ``python -m infrastructure.checkov_scan TEMPLATE...``.

checkov lives in a virtualenv of its own (``.venv-checkov``, from ``requirements-checkov.txt``),
created here when missing, so ``make synth`` and ``make test`` on a clean clone need only the package
registry. It runs offline (``--skip-download``: no policy or guideline downloads). The scan fails on
any finding that is not skipped, and on any skip whose comment does not say why
(``infrastructure.checkov_skips`` writes them). No CDK import: this runs on templates only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
VENV = REPO_ROOT / ".venv-checkov"
REQUIREMENTS = REPO_ROOT / "requirements-checkov.txt"
CHECKOV = VENV / "bin" / "checkov"
INSTALLED = VENV / ".installed"
MIN_REASON_LENGTH = 100
"""A sentence naming the constraint and the mitigation, not "not needed"."""
SCAN_TIMEOUT_SECONDS = 300


@dataclass
class ScanResult:
    failed: list[str] = field(default_factory=list)
    """``CHECK_ID resource (file)`` of each finding without a skip."""
    unexplained_skips: list[str] = field(default_factory=list)
    skipped: int = 0
    passed: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.unexplained_skips and self.passed > 0


def ensure_checkov() -> Path:
    """The checkov executable, installing it into its own virtualenv first when missing or when
    ``requirements-checkov.txt`` changed since."""
    fresh = INSTALLED.exists() and INSTALLED.stat().st_mtime >= REQUIREMENTS.stat().st_mtime
    if CHECKOV.exists() and fresh:
        return CHECKOV
    if not (VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         "-r", str(REQUIREMENTS)],
        check=True,
    )
    INSTALLED.touch()
    return CHECKOV


def _reports(output: str) -> list[dict[str, Any]]:
    document = json.loads(output)
    return document if isinstance(document, list) else [document]


def scan(templates: Sequence[Path]) -> ScanResult:
    checkov = ensure_checkov()
    command = [str(checkov), "--framework", "cloudformation", "--skip-download", "--compact",
               "--output", "json"]
    for template in templates:
        command += ["--file", str(template)]
    # No telemetry, no platform: the scan must behave the same with and without a network.
    environment = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false",
                   "LOG_LEVEL": "ERROR"}
    completed = subprocess.run(command, capture_output=True, text=True, env=environment,
                               timeout=SCAN_TIMEOUT_SECONDS, check=False)
    if completed.returncode not in (0, 1) or not completed.stdout.strip():
        raise RuntimeError(f"checkov did not run (exit {completed.returncode}): {completed.stderr[-2000:]}")
    result = ScanResult()
    for report in _reports(completed.stdout):
        if report.get("summary", {}).get("parsing_errors"):
            raise RuntimeError(f"checkov could not parse a template: {report['results'].get('parsing_errors')}")
        checks = report["results"]
        result.passed += len(checks["passed_checks"])
        for finding in checks["failed_checks"]:
            result.failed.append(f"{finding['check_id']} {finding['resource']} ({finding['file_path']}): "
                                 f"{finding['check_name']}")
        for finding in checks["skipped_checks"]:
            result.skipped += 1
            reason = (finding.get("check_result") or {}).get("suppress_comment") or ""
            if len(reason.strip()) < MIN_REASON_LENGTH:
                result.unexplained_skips.append(f"{finding['check_id']} {finding['resource']}: {reason!r}")
    return result


def main(argv: Sequence[str] | None = None) -> int:
    templates = [Path(name) for name in (sys.argv[1:] if argv is None else argv)]
    if not templates:
        print("usage: python -m infrastructure.checkov_scan TEMPLATE...", file=sys.stderr)
        return 2
    result = scan(templates)
    for line in result.failed:
        print(f"checkov: finding without a skip: {line}", file=sys.stderr)
    for line in result.unexplained_skips:
        print(f"checkov: skip without a reason (>= {MIN_REASON_LENGTH} characters): {line}", file=sys.stderr)
    print(f"checkov: {result.passed} passed, {len(result.failed)} failed, {result.skipped} skipped with a reason")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
