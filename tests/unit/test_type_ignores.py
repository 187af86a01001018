"""Every ``# type: ignore`` in the repository names its error code and says why (issue #11).

ruff's PGH003 and mypy's ``ignore-without-code`` already refuse a bare ``# type: ignore``; neither
asks for the reason, so this does: ``# type: ignore[code]`` must be followed by ``# why``.
Comments are read with ``tokenize`` (never a regex over the text), so a string that merely
contains the words is not a finding. The checker is tried on small sources first, so that a
checker which finds nothing cannot pass the real check by accident.
"""

from __future__ import annotations

import io
import os
import re
import tokenize
from collections.abc import Iterator
from pathlib import Path

import pytest

from devstack.state import REPOSITORY

SKIPPED_DIRECTORIES = {"node_modules", "__pycache__", "cdk.out", "chalice.out"}
"""Generated or installed code, not ours (hidden directories, .venv and .local included, are skipped too)."""

IGNORE = re.compile(r"#\s*type:\s*ignore\b(?P<codes>\[[^\]]*\])?(?P<rest>.*)")
REASON = re.compile(r"^\s*#\s*(?!noqa\b)\S")  # a noqa pragma after it is no reason


def unexplained_ignores(source: str) -> list[int]:
    """Line numbers of the ``# type: ignore`` comments with no error code or no ``# reason`` after it."""
    lines = []
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        match = IGNORE.search(token.string)
        if match and (not match["codes"] or not REASON.match(match["rest"])):
            lines.append(token.start[0])
    return lines


def python_files(root: Path) -> Iterator[Path]:
    for directory, subdirectories, files in os.walk(root):
        subdirectories[:] = sorted(
            name for name in subdirectories if not name.startswith(".") and name not in SKIPPED_DIRECTORIES
        )
        for name in sorted(files):
            if name.endswith(".py"):
                yield Path(directory) / name


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("x = f()  # type: ignore[arg-type]  # the stub says str, it takes bytes\n", []),
        ("x = f()  # type: ignore[arg-type, union-attr]  # both: see above\n", []),
        ("x = f()  # type: ignore[arg-type]\n", [1]),
        ("x = f()  # type: ignore[arg-type]  #\n", [1]),
        ("x = f()  # type: ignore[arg-type]  # noqa: E501\n", [1]),
        ("x = 1\ny = f()  # type: ignore\n", [2]),
        ("x = f()  # type: ignore  # a reason, but no code\n", [1]),
        ("x = '# type: ignore[arg-type]'\n", []),
        ("x = f()  # noqa: E501\n", []),
    ],
)
def test_the_checker_finds_an_ignore_without_a_reason(source: str, expected: list[int]) -> None:
    assert unexplained_ignores(source) == expected


def test_the_walk_sees_the_product_code_tests_and_tooling_but_not_the_virtualenv() -> None:
    files = {path.relative_to(REPOSITORY).as_posix() for path in python_files(REPOSITORY)}
    assert {"app.py", "chalicelib/__init__.py", "tests/unit/test_type_ignores.py", "ops/cli.py"} <= files
    assert not any(path.startswith((".venv", ".local")) or "/cdk.out/" in path for path in files)


def test_every_type_ignore_in_the_repository_says_why() -> None:
    findings = [
        f"{path.relative_to(REPOSITORY)}:{line}"
        for path in python_files(REPOSITORY)
        for line in unexplained_ignores(path.read_text(encoding="utf-8"))
    ]
    assert findings == [], "a # type: ignore[code] needs a '# why' after it: " + ", ".join(findings)
