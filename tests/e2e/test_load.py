"""A CI-sized slice of the load run (`make load` runs the full minute): every ack reaches a final status."""

from __future__ import annotations

import pytest

from bench.load import run_load
from tests.e2e.stack import StackProcess

pytestmark = pytest.mark.slow


def test_a_short_load_with_duplicates_loses_nothing(local_stack: StackProcess, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("PAYMENT_WEBHOOKS_LOCAL_DIR", str(local_stack.state_dir))
    from ops.stage import local_target

    result = run_load(local_stack.url, local_target(), rate=10, seconds=6, settle_timeout=60)

    assert result.sent >= 50 and result.duplicates_sent > 0
    assert set(result.statuses) == {200}
    assert result.lost == []
    assert sum(result.final.values()) == len(result.acked_ids)
