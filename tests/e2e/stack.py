"""Start and drive the local stack exactly as `make run` does (`python -m devstack`), over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.emulator import free_port
from devstack.state import REPOSITORY

READY = "payment-webhooks ready on "
START_TIMEOUT_SECONDS = 90
STOP_TIMEOUT_SECONDS = 20


def stack_environment(state_dir: Path, port: int, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The runner's environment; ``extra`` is what a developer would add on the command line
    (``LOCAL_SOURCES_FILE=... make run``), applied last."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))}
    environ.update({
        "PORT": str(port),
        "MOTO_PORT": str(free_port()),  # never the default one a developer's `make run` may hold
        "PAYMENT_WEBHOOKS_LOCAL_DIR": str(state_dir),
        # Failed messages come back after 1 s instead of 5: the DLQ test then takes seconds.
        "LOCAL_VISIBILITY_TIMEOUT_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
    })
    environ.update(extra or {})
    return environ


@dataclass
class StackProcess:
    state_dir: Path
    port: int
    process: subprocess.Popen[bytes]
    log_path: Path

    @classmethod
    def start(
        cls, state_dir: Path, port: int | None = None, environment: Mapping[str, str] | None = None
    ) -> StackProcess:
        state_dir.mkdir(parents=True, exist_ok=True)
        port = port or free_port()
        log_path = state_dir / f"runner-{time.monotonic_ns()}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "devstack"], cwd=REPOSITORY, env=stack_environment(state_dir, port, environment),
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            )
        stack = cls(state_dir, port, process, log_path)
        stack.wait_until_ready()
        return stack

    @property
    def output(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if READY in self.output:
                return
            if self.process.poll() is not None:
                raise AssertionError(f"the local stack exited with {self.process.returncode}:\n{self.output[-3000:]}")
            time.sleep(0.1)
        self.process.kill()
        raise AssertionError(f"the local stack was not ready in {START_TIMEOUT_SECONDS} s:\n{self.output[-3000:]}")

    def state(self) -> dict[str, Any]:
        return json.loads((self.state_dir / "stack.json").read_text())

    def environment(self) -> dict[str, str]:
        """What a second terminal has: the same state directory, nothing else special."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "PYTEST_"))}
        environ["PAYMENT_WEBHOOKS_LOCAL_DIR"] = str(self.state_dir)
        return environ

    def ops(self, *args: str, expect: int | None = 0) -> subprocess.CompletedProcess[str]:
        completed = subprocess.run(
            [sys.executable, "-m", "ops", *args], cwd=REPOSITORY, env=self.environment(),
            capture_output=True, text=True, timeout=120,
        )
        if expect is not None:
            assert completed.returncode == expect, (completed.returncode, completed.stdout, completed.stderr)
        return completed

    def ops_json(self, *args: str, expect: int | None = 0) -> Any:
        return json.loads(self.ops(*args, "--json", expect=expect).stdout)

    def interrupt(self) -> int:
        """Ctrl-C, as a terminal sends it; returns the exit status."""
        self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise AssertionError(f"the local stack did not stop on SIGINT:\n{self.output[-3000:]}") from None


def boto3_client(stack: StackProcess, service: str) -> Any:
    import boto3

    state = stack.state()
    return boto3.session.Session(
        aws_access_key_id="local", aws_secret_access_key="local", region_name=state["region"]
    ).client(service, endpoint_url=state["endpointUrl"])


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in _proc_state(pid)


def _proc_state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (OSError, IndexError):
        return ""
