"""How `make run` ends: on any number of stop signals, and on its own when the emulator dies.

Each test starts its own real `python -m devstack` process on free ports (tests/e2e/stack.py), so
the signals and the dead emulator are the real ones, not mocks.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from tests.e2e.stack import READY, StackProcess, process_alive

pytestmark = pytest.mark.slow

STOP_WITHIN_SECONDS = 10


def wait_for_exit(stack: StackProcess, seconds: float) -> int:
    try:
        return stack.process.wait(seconds)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        stack.process.wait(10)
        raise AssertionError(f"`python -m devstack` still ran after {seconds} s:\n{stack.output[-3000:]}") from None


def test_two_sigterms_in_quick_succession_stop_the_stack_cleanly(tmp_path_factory: pytest.TempPathFactory) -> None:
    # GIVEN a running local stack
    stack = StackProcess.start(tmp_path_factory.mktemp("double-sigterm"))
    moto_pid = stack.state()["motoPid"]

    # WHEN SIGTERM arrives twice, the second while the first is being handled, then a burst of
    # Ctrl-Cs and SIGTERMs while it stops
    stack.process.send_signal(signal.SIGTERM)
    stack.process.send_signal(signal.SIGTERM)
    for index in range(20):
        if stack.process.poll() is not None:
            break
        stack.process.send_signal(signal.SIGINT if index % 2 else signal.SIGTERM)
        time.sleep(0.01)

    # THEN it exits 0 in time, with its emulator stopped and no state left claiming it runs
    assert wait_for_exit(stack, STOP_WITHIN_SECONDS) == 0, stack.output[-3000:]
    assert "payment-webhooks stopped" in stack.output
    assert not process_alive(moto_pid)
    assert not (stack.state_dir / "stack.json").exists()


def test_a_dead_emulator_ends_the_stack_with_one_line(tmp_path_factory: pytest.TempPathFactory) -> None:
    # GIVEN a running local stack
    stack = StackProcess.start(tmp_path_factory.mktemp("dead-emulator"))
    moto_pid = stack.state()["motoPid"]

    # WHEN its emulator dies (killed outright, as the OOM killer would)
    os.kill(moto_pid, signal.SIGKILL)
    started = time.monotonic()

    # THEN the stack exits non-zero within a few seconds
    status = wait_for_exit(stack, 5)
    assert status != 0 and time.monotonic() - started < 5
    # AND says why in one line, instead of logging failed polls
    after_ready = stack.output.split(READY, 1)[1].splitlines()[1:]
    assert after_ready == [
        f"make run: the AWS emulator (moto_server) was killed by SIGKILL; see {stack.state_dir / 'moto.log'}"
    ], after_ready
    assert not (stack.state_dir / "stack.json").exists()
