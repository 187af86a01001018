"""``python -m ops``: send signed sample webhooks, inspect records, replay and redrive.

This module is the command group and what every command's definition shares; it imports no
command. Each command module (``cli_send``, ``cli_records``) exposes ``register(group)``, and
``ops.main.command_group`` adds them all: a new command is a module and one line there. Every
command takes ``--stage`` (default ``local``: the stack `make run` started, found by itself) and
``--json`` (one JSON document on stdout). Human output goes to stdout, progress bars and errors to
stderr (``ops.output``). See ``README.md`` ("Operating it") for examples.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from typing import Any

import click

from ops.stage import LOCAL


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document instead of text."
    )(command)
    return click.option(
        "--stage", default=LOCAL, show_default=True, metavar="STAGE",
        help="local: the stack `make run` started; otherwise a stage of .chalice/config.json, "
        "with your AWS credentials.",
    )(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
def cli() -> None:
    """Operate payment-webhooks: send signed sample events, inspect, replay and redrive.

    Run from the repository root. Without --stage every command works on the local stack that
    `make run` started.
    """


def webhook_url(base: str, source: str) -> str:
    """``base`` as given when it already ends in /webhook/<name>, else with that path added."""
    stripped = base.rstrip("/")
    segments = urllib.parse.urlsplit(stripped).path.split("/")
    if len(segments) >= 2 and segments[-2] == "webhook" and segments[-1]:
        return stripped
    return f"{stripped}/webhook/{source}"
