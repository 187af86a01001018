"""The embedded AWS: ``moto_server`` as its own process on loopback, its log in ``.local/moto.log``
(warnings and errors; see ``devstack/motoserver.py``).

It runs in its own session, so a Ctrl-C in the terminal reaches only the runner, which then stops
its workers first and the emulator last (no poller ever talks to a dead endpoint on the way out).
On Linux the emulator also gets ``PR_SET_PDEATHSIG``: if the runner is killed outright it follows.
Should one survive anyway (another OS, a runner killed while starting it), the next start finds it
through ``moto.pid`` and stops it, after checking the pid still belongs to a moto server.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

from devstack.state import REPOSITORY, Paths, process_command

HOST = "127.0.0.1"
DEFAULT_PORT = 4566
START_TIMEOUT_SECONDS = 20.0
STOP_TIMEOUT_SECONDS = 5.0
_PR_SET_PDEATHSIG = 1


class EmulatorError(Exception):
    """The emulator could not be started; the message is one line for the user."""


def free_port(host: str = HOST) -> int:
    """A port nothing listens on right now (the kernel's choice)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((host, 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
        except OSError:
            pass  # best effort: the stale-pid check covers the rest


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_moto(pid: int) -> bool:
    return "moto" in process_command(pid)


def stop_process(pid: int, timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """SIGTERM, then SIGKILL after ``timeout``; a process that is already gone is fine."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            finished, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:  # not our child: poll for its disappearance instead
            finished = 0 if _alive(pid) else pid
        if finished:
            return
        time.sleep(0.05)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def stop_leftover(paths: Paths) -> int | None:
    """Stop a moto server left behind by a runner that died; returns its pid when there was one."""
    try:
        pid = int(paths.moto_pid.read_text().strip())
    except (FileNotFoundError, ValueError):
        return None
    paths.moto_pid.unlink(missing_ok=True)
    if not _alive(pid) or not _is_moto(pid):
        return None  # gone already, or the pid now belongs to someone else: leave it alone
    stop_process(pid)
    return pid


class Emulator:
    """One ``moto_server`` process; ``endpoint`` once :meth:`start` returned."""

    def __init__(self, paths: Paths, port: int | None = None) -> None:
        self._paths = paths
        self._requested_port = port
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> None:
        if self._requested_port:
            self.port = self._requested_port
            if not port_is_free(self.port):
                raise EmulatorError(f"MOTO_PORT {self.port} is in use: free it or unset MOTO_PORT")
        else:
            # The same port run after run keeps a sourced .local/env.sh valid across restarts.
            self.port = DEFAULT_PORT if port_is_free(DEFAULT_PORT) else free_port()
        log = open(self._paths.moto_log, "ab")
        try:
            started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            log.write(f"--- {started} moto_server on {self.endpoint} (MOTO_REQUEST_LOG=1 logs each request)\n".encode())
            log.flush()
            self._process = subprocess.Popen(
                [sys.executable, "-m", "devstack.motoserver", "-H", HOST, "-p", str(self.port)],
                cwd=REPOSITORY,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        finally:
            log.close()
        self._paths.moto_pid.write_text(str(self._process.pid))
        self._wait_until_ready()

    def _wait_until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            assert self._process is not None
            if self._process.poll() is not None:
                raise EmulatorError(f"moto_server exited at start; see {self._paths.moto_log}")
            if _answers(f"{self.endpoint}/moto-api/"):
                return
            time.sleep(0.1)
        raise EmulatorError(f"moto_server did not answer within {START_TIMEOUT_SECONDS:.0f} s")

    def exit_status(self) -> int | None:
        """The emulator's exit status once it has died on its own; None while it runs (or before start)."""
        return self._process.poll() if self._process is not None else None

    def stop(self) -> None:
        if self._process is None:
            return
        if self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None
        self._paths.moto_pid.unlink(missing_ok=True)


def _answers(url: str) -> bool:
    # No proxies: a loopback address must never be sent through the user's HTTP_PROXY.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(url, timeout=1):
            return True
    except (urllib.error.URLError, OSError, ValueError):
        return False
