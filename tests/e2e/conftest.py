"""One local stack for the whole end-to-end session, started as `make run` starts it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.stack import StackProcess, process_alive


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    stack = StackProcess.start(tmp_path_factory.mktemp("local-stack"))
    moto_pid = stack.state()["motoPid"]
    yield stack
    # Ctrl-C stops everything cleanly: exit 0, the emulator gone, no state left claiming to run.
    status = stack.interrupt()
    assert status == 0, stack.output[-3000:]
    assert "payment-webhooks stopped" in stack.output
    assert not process_alive(moto_pid)
    assert not (stack.state_dir / "stack.json").exists()
