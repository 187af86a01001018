"""A CI-sized slice of the load run (`make load` runs the full minute): every ack reaches a final status."""

from __future__ import annotations

import pytest

from bench.load import run_load
from tests.e2e.stack import StackProcess

pytestmark = pytest.mark.slow


def test_a_short_load_with_duplicates_loses_nothing(local_stack: StackProcess, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PAYMENT_WEBHOOKS_LOCAL_DIR", str(local_stack.state_dir))
    from ops.stage import local_target

    result = run_load(local_stack.url, local_target(), rate=10, seconds=6, settle_timeout=90,
                      burst_rate=50, burst_seconds=1)

    assert result.sent >= 90 and result.duplicates_sent > 0
    assert [phase.name for phase in result.phases] == ["sustained", "burst"] and result.phases[1].sent >= 40
    assert set(result.statuses) == {200}
    assert result.lost == [] and result.double_applied == []
    assert sum(result.final.values()) == len(result.acked_ids)
    assert result.ok
