"""A pytest plugin that fails any test during which the app logged a secret, key or signature.

It reads what each test captured (stdout, stderr and log records), picks out the app's own JSON
log lines and searches them for every known test secret and for the shapes that secrets and
signatures have. Together with the response checks in the route tests this covers "no secret,
signature or key ever appears in a log line or response" across the whole suite, not one test.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest

from providers_tooling import all_tooling
from tests import samples

if TYPE_CHECKING:
    import pluggy

APP_LINE_START = '{"level":"'
"""How each of the app's JSON lines starts (chalicelib.log writes the level first): other programs'
output in the same capture (moto's, the local runner's) is not the app's to answer for."""
# Every secret of the tests' sources, and every registered provider's test secrets.
KNOWN_SECRETS = tuple(
    dict.fromkeys(
        value
        for value in (
            *(secret for entry in samples.SOURCES.values() for secret in entry["secrets"]),
            *(secret for tooling in all_tooling() for secret in tooling.test_secrets),
        )
        if value
    )
)
# Each provider's secret and signature shapes (its tooling's leak_patterns), then the generic ones.
FORBIDDEN_SHAPES = (
    *dict.fromkeys(pattern for tooling in all_tooling() for pattern in tooling.leak_patterns),
    re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----"),
    re.compile(r"Traceback \(most recent call last\)"),
)


def leaks_in(text: str) -> list[str]:
    found: list[str] = []
    for line in text.splitlines():
        if not line.lstrip().startswith(APP_LINE_START):
            continue
        found.extend(f"secret {secret[:6]}… in: {line[:160]}" for secret in KNOWN_SECRETS if secret in line)
        found.extend(f"{shape.pattern} in: {line[:160]}" for shape in FORBIDDEN_SHAPES if shape.search(line))
    return found


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pluggy.Result[pytest.TestReport], None]:
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.passed:
        return
    captured = "\n".join(content for _, content in report.sections)
    leaks = leaks_in(captured)
    if leaks:
        report.outcome = "failed"
        report.longrepr = "The app logged something secret:\n" + "\n".join(leaks[:10])
