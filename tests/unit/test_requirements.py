"""requirements.txt is installed with pip's --no-deps into the deployment package, so it must name
every package the functions need, dependencies of dependencies included (docs/PERFORMANCE.md)."""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"
PROVIDED_BY_THE_LAMBDA_RUNTIME = {"boto3", "botocore"}
# The python3.11 arm64 Lambda runtime, for evaluating dependency markers.
LAMBDA_ENVIRONMENT = {
    "python_version": "3.11",
    "python_full_version": "3.11.9",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "aarch64",
    "os_name": "posix",
    "extra": "",
}


def listed() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            pins[canonicalize_name(requirement.name)] = str(requirement.specifier)
    return pins


def test_every_runtime_requirement_is_pinned() -> None:
    assert listed() and all(re.fullmatch(r"==\S+", spec) for spec in listed().values())


def test_requirements_are_closed_under_their_dependencies() -> None:
    # GIVEN the packages requirements.txt names (installed in this environment at those pins)
    names = set(listed())
    missing: set[str] = set()
    for name in names:
        try:
            declared = requires(name) or []
        except PackageNotFoundError:  # pragma: no cover - `make install` installs them all
            raise AssertionError(f"{name} is listed but not installed") from None
        # WHEN each one's own dependencies are evaluated for the Lambda runtime
        for text in declared:
            dependency = Requirement(text)
            if dependency.marker is not None and not dependency.marker.evaluate(LAMBDA_ENVIRONMENT):
                continue
            missing.add(canonicalize_name(dependency.name))
    # THEN every one is listed too, except what the runtime already provides
    assert missing - PROVIDED_BY_THE_LAMBDA_RUNTIME <= names, missing - PROVIDED_BY_THE_LAMBDA_RUNTIME - names
    assert not names & PROVIDED_BY_THE_LAMBDA_RUNTIME
