"""What the local stack's runner reads and writes around the stack itself: its options from the
environment, the environment its emulator and clients get (``env.sh``), and the start banner's hints.
Kept apart from :mod:`devstack.runner` (which starts, watches and stops the pieces) so each reads in one go."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from devstack.state import CREDENTIALS, LOCAL_DIR_VARIABLE, REGION, REPOSITORY, Paths

DEFAULT_PORT = 8000
DEFAULT_CONSOLE_PORT = 8080
DEFAULT_VISIBILITY_TIMEOUT = 5


class StartupError(Exception):
    """The stack cannot start; the message is one line for the user."""


@dataclass(frozen=True)
class RunnerOptions:
    port: int
    moto_port: int | None
    visibility_timeout: int
    raw_logs: bool
    console_port: int = 8080
    verbose_logs: bool = False
    """Every log line with every field (``-v`` or ``LOG_VERBOSE=1``), not one line per outcome."""

    @classmethod
    def from_environment(cls, environ: Mapping[str, str], argv: Sequence[str] = ()) -> RunnerOptions:
        def number(name: str, default: int | None, low: int, high: int) -> int | None:
            text = environ.get(name, "").strip()
            if not text:
                return default
            if not text.isdigit() or not low <= int(text) <= high:
                raise StartupError(f"{name} must be a number from {low} to {high}, not {text!r}")
            return int(text)

        port = number("PORT", DEFAULT_PORT, 1, 65535)
        console_port = number("CONSOLE_PORT", DEFAULT_CONSOLE_PORT, 0, 65535)
        visibility = number("LOCAL_VISIBILITY_TIMEOUT_SECONDS", DEFAULT_VISIBILITY_TIMEOUT, 1, 43200)
        assert port is not None and visibility is not None and console_port is not None
        return cls(
            port=port,
            moto_port=number("MOTO_PORT", None, 1, 65535),
            visibility_timeout=visibility,
            raw_logs=environ.get("LOG_FORMAT", "").lower() == "json",
            console_port=console_port,
            verbose_logs="-v" in argv or "--verbose" in argv or environ.get("LOG_VERBOSE", "") not in ("", "0"),
        )


def emulator_environment(endpoint: str, paths: Paths) -> dict[str, str]:
    """What points every AWS SDK in this process (and the app) at the emulator, and only there."""
    return {
        **CREDENTIALS,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": str(paths.aws_config),
        "AWS_SHARED_CREDENTIALS_FILE": str(paths.aws_config),
        "AWS_EC2_METADATA_DISABLED": "true",
        "NO_PROXY": ",".join(filter(None, [os.environ.get("NO_PROXY", ""), "127.0.0.1", "localhost"])),
    }


def isolate_from_real_aws(environ: MutableMapping[str, str]) -> None:
    """Drop what could point this process at a real account (profiles, tokens, endpoints)."""
    for name in list(environ):
        if name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_DEFAULT_PROFILE") or (
            name.startswith("AWS_ENDPOINT_URL_")
        ):
            del environ[name]


def shell_quote(value: str) -> str:
    return "'" + value.replace("'", "'\"'\"'") + "'"


def env_script(variables: Mapping[str, str]) -> str:
    lines = [
        "# Written by `make run` while the local stack runs; do not edit.",
        "# `source .local/env.sh` points AWS SDKs, the AWS CLI and `chalice local --stage local` at it.",
        "unset AWS_PROFILE AWS_SESSION_TOKEN",
    ]
    lines += [f"export {name}={shell_quote(value)}" for name, value in variables.items()]
    return "\n".join(lines) + "\n"


def display(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def exit_description(status: int) -> str:
    """``exited with status 3`` or ``was killed by SIGKILL`` (Popen's negative status)."""
    if status < 0:
        try:
            return f"was killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"was killed by signal {-status}"
    return f"exited with status {status}"


def banner_hints(
    paths: Paths, port: int, cwd: Path | None = None, environ: Mapping[str, str] | None = None
) -> list[str]:
    """The start banner's "what next" lines: commands that work when pasted into another terminal.

    That terminal has no virtualenv active, so the tools are named by their path in this
    interpreter's environment; a state directory other than the default is passed on to ``ops``.
    """
    environ = os.environ if environ is None else environ
    where = cwd or Path.cwd()
    scripts = Path(sys.executable).parent  # the venv's bin/, not resolved: .venv/bin stays .venv/bin

    # Both commands run in the repository (chalice needs its project there): from anywhere else
    # they `cd` to it first, so every path is shown relative to the repository.
    in_repository = "" if where.resolve() == REPOSITORY.resolve() else f"cd {shell_quote(str(REPOSITORY))} && "

    def shown(path: Path) -> str:
        try:
            return str(path.relative_to(REPOSITORY))
        except ValueError:
            return str(path)

    state = ""
    if environ.get(LOCAL_DIR_VARIABLE):
        state = f"{LOCAL_DIR_VARIABLE}={shell_quote(str(paths.root))} "
    chalice_port = port + 1 if port < 65535 else port - 1  # next to the stack's, never on it
    return [
        (f"  chalice local: {in_repository}source {shown(paths.env_script)} && "
         f"{shown(scripts / 'chalice')} local --stage local --port {chalice_port}"),
        f"  try: {in_repository}{state}{shown(scripts / 'python')} -m ops send stripe payment_intent.succeeded",
    ]
