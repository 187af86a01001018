"""Run the CLI and turn every expected failure into one line on stderr and a non-zero status.

An operator mid-incident needs to read what is wrong, not a stack trace: wrong input, no local
stack, missing AWS credentials, an endpoint that cannot be reached or AWS refusing a call are all
expected, and each gets one line. Usage errors exit 2 (as click does), everything else 1.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

PROG = "python -m ops"


def _fail(message: str, status: int = 1) -> int:
    click.echo(f"ops: error: {' '.join(message.split())}", err=True)
    return status


def _aws_message(exc: Exception) -> str | None:
    """One line for a botocore failure, or None when ``exc`` is not one."""
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        EndpointConnectionError,
        NoCredentialsError,
        NoRegionError,
        ProfileNotFound,
    )

    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials found for this stage: set AWS_PROFILE or the AWS_* variables"
    if isinstance(exc, (NoRegionError, ProfileNotFound)):
        return f"AWS configuration: {exc}"
    if isinstance(exc, EndpointConnectionError):
        return f"cannot reach {exc.kwargs.get('endpoint_url', 'the AWS endpoint')}: is the stack running?"
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"AWS refused {exc.operation_name}: {error.get('Code', 'error')}: {error.get('Message', '')}".strip()
    if isinstance(exc, BotoCoreError):
        return f"AWS call failed: {type(exc).__name__}"
    return None


def command_group() -> click.Group:
    """The CLI with every command on it. Each command module adds its own commands (``register``);
    none of them imports this module or the group's back, so a new command is one line here."""
    from ops import cli_console, cli_export, cli_reconcile, cli_records, cli_send
    from ops.cli import cli
    from ops.event_sources import fix_event_sources_command

    cli_send.register(cli)
    cli_records.register(cli)
    cli_console.register(cli)
    cli_reconcile.register(cli)
    cli_export.register(cli)
    cli.add_command(fix_event_sources_command)
    return cli


def main(argv: Sequence[str] | None = None) -> int:
    from devstack.state import NoLocalStack
    from ops.delivery import CannotSign, SendFailed
    from ops.samples import UnknownSample
    from ops.stage import OpsError

    args = list(sys.argv[1:] if argv is None else argv)
    # Bare `python -m ops` is someone asking what it does: the help, not a usage error.
    args = args or ["--help"]
    try:
        result = command_group().main(args=args, prog_name=PROG, standalone_mode=False)
    except click.UsageError as exc:
        command = exc.ctx.command_path if exc.ctx is not None else PROG
        return _fail(f"{exc.format_message()} (see `{command} --help`)", 2)
    except click.ClickException as exc:
        return _fail(exc.format_message(), exc.exit_code or 1)
    except click.exceptions.Abort:
        return _fail("interrupted", 130)
    except (OpsError, NoLocalStack, UnknownSample, CannotSign, SendFailed) as exc:
        return _fail(str(exc))
    except Exception as exc:  # AWS failures get one line; anything else is a bug: name it only
        message = _aws_message(exc)
        return _fail(message or f"unexpected {type(exc).__name__}; rerun with --help to check the arguments")
    return result if isinstance(result, int) else 0
