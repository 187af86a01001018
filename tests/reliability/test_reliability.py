"""Every fault scenario ends with nothing lost, nothing applied twice, nothing unverified stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.reliability.scenarios import SCENARIOS, Scenario, emulated_stack, run_named

WEBHOOKS_PER_SCENARIO = 24  # CI-sized; `python -m tests.reliability` runs the full report


@pytest.fixture(scope="module")
def stack() -> Iterator[Any]:
    with emulated_stack() as running:
        yield running


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_scenario_loses_nothing_and_applies_nothing_twice(stack, scenario: Scenario):
    client, session, endpoint = stack
    outcome = run_named(scenario, client, session, endpoint, WEBHOOKS_PER_SCENARIO)

    assert outcome.lost == []
    assert outcome.double_applied == []
    assert outcome.unverified_stored == 0
    assert outcome.problems == []
    assert outcome.acked > 0
    if not scenario.requeue_may_rescue:
        assert outcome.needed_requeue == 0, "an acked webhook fell off the queue"
    if scenario.faults:
        assert outcome.injected > 0, "the scenario injected nothing: it proves nothing"
    if scenario.name in ("processing always fails", "alert publish errors"):
        # Every payment event dead-letters (the others are `ignored`, which needs no processing).
        assert outcome.dead_lettered > 0
