"""Where the local stack keeps its state (``.local/``), and how tools find a running stack.

Everything `make run` writes lives in one directory, ``.local/`` at the repository root (gitignored)
unless ``PAYMENT_WEBHOOKS_LOCAL_DIR`` points elsewhere; the end-to-end tests use that to run their
own stack without touching a developer's. ``ops`` finds the running stack through the same files.

A running stack holds an exclusive ``flock`` on ``runner.lock`` for its whole life. The kernel drops
the lock when the process dies, however it dies, so a stale ``stack.json`` left by a ``kill -9``
can never be mistaken for a live stack, and nothing depends on pids that may have been reused.
"""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPOSITORY = Path(__file__).resolve().parent.parent
LOCAL_DIR_VARIABLE = "PAYMENT_WEBHOOKS_LOCAL_DIR"
REGION = "us-east-1"
# Dummy credentials: moto accepts anything, and real AWS would refuse these.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}


class NoLocalStack(Exception):
    """No local stack is running (or it is still starting); the message says what to do."""


def local_dir() -> Path:
    configured = os.environ.get(LOCAL_DIR_VARIABLE)
    return Path(configured).resolve() if configured else REPOSITORY / ".local"


@dataclass(frozen=True)
class Paths:
    root: Path

    @classmethod
    def default(cls) -> Paths:
        return cls(local_dir())

    @property
    def lock(self) -> Path:
        return self.root / "runner.lock"

    @property
    def stack(self) -> Path:
        """What a running stack tells its clients (written once it is ready, removed at exit)."""
        return self.root / "stack.json"

    @property
    def moto_pid(self) -> Path:
        return self.root / "moto.pid"

    @property
    def moto_log(self) -> Path:
        return self.root / "moto.log"

    @property
    def aws_config(self) -> Path:
        """An empty AWS config file: the user's own profiles and endpoints never apply here."""
        return self.root / "aws-config"

    @property
    def env_script(self) -> Path:
        return self.root / "env.sh"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets.json"

    @property
    def paypal(self) -> Path:
        return self.root / "paypal"

    def ensure(self) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        self.paypal.mkdir(exist_ok=True)


def write_private(path: Path, text: str) -> None:
    """Write a file only its owner can read (secrets and keys), atomically."""
    temporary = path.with_name(path.name + ".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(temporary, path)


class RunnerLock:
    """The exclusive lock a running stack holds; see the module docstring."""

    def __init__(self, paths: Paths) -> None:
        self._paths = paths
        self._handle: IO[str] | None = None

    def acquire(self) -> bool:
        handle = open(self._paths.lock, "a+", encoding="utf-8")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self._handle = handle
        return True

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def lock_is_held(paths: Paths) -> bool:
    """Whether some process (a running stack) holds the runner lock right now."""
    if not paths.lock.exists():
        return False
    with open(paths.lock, "a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


def read_stack(paths: Paths | None = None) -> dict[str, Any]:
    """The running stack's ``stack.json``, or :class:`NoLocalStack` with a one-line reason."""
    paths = paths or Paths.default()
    if not lock_is_held(paths):
        raise NoLocalStack(f"no local stack is running (state in {paths.root}): start it with `make run`")
    try:
        return json.loads(paths.stack.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NoLocalStack("the local stack is still starting: try again in a moment") from None
    except ValueError:
        raise NoLocalStack(f"{paths.stack} is unreadable: restart `make run`") from None


def process_command(pid: int) -> str:
    """The command line of a live process, or "" when there is none (portable: uses ``ps``)."""
    try:
        result = subprocess.run(
            ["ps", "-o", "command=", "-p", str(pid)], capture_output=True, text=True, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip()
