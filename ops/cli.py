"""``python -m ops``: send signed sample webhooks, inspect records, replay and redrive.

The group and the helpers every command shares live here; the commands are in ``cli_send`` and
``cli_records``. Every command takes ``--stage`` (default ``local``: the stack `make run` started, found by itself)
and ``--json`` (one JSON document on stdout). Human output goes to stdout, progress bars and errors
to stderr. See ``README.md`` ("Operating it") for examples.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from chalicelib.store import WebhookRecord, WebhookStore
from ops.stage import LOCAL

WAIT_SECONDS = 15.0
POLL_SECONDS = 0.2


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    command = click.option(
        "--json", "as_json", is_flag=True, help="Print one JSON document instead of text."
    )(command)
    return click.option(
        "--stage", default=LOCAL, show_default=True, metavar="STAGE",
        help="local: the stack `make run` started; otherwise a stage of .chalice/config.json, "
        "with your AWS credentials.",
    )(command)


def emit(as_json: bool, document: Any, text: str) -> None:
    click.echo(json.dumps(document, indent=2) if as_json else text)


@contextmanager
def progress_bar(total: int | None, label: str, hidden: bool) -> Iterator[Callable[[int], None]]:
    """A bar on stderr when it is a terminal (tqdm hides itself otherwise) and not --json."""
    from tqdm import tqdm

    with tqdm(total=total, desc=label, unit="msg", file=sys.stderr, disable=True if hidden else None,
              leave=False) as bar:
        yield bar.update


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


def wait_until_final(store: WebhookStore, webhook_ids: list[str], timeout: float) -> list[WebhookRecord | None]:
    deadline = time.monotonic() + timeout
    while True:
        found = [store.get(webhook_id) for webhook_id in webhook_ids]
        if all(record is not None and record.is_final for record in found) or time.monotonic() > deadline:
            return found
        time.sleep(POLL_SECONDS)


# The commands register themselves on `cli` when their modules are imported.
from ops import cli_records, cli_send  # noqa: E402,F401
from ops.event_sources import fix_event_sources_command  # noqa: E402  (after `cli` exists)

cli.add_command(fix_event_sources_command)
