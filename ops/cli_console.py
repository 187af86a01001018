"""``ops console`` (the web console against a stage) and ``ops tail`` (what happens, live)."""

from __future__ import annotations

import os
import threading

import click

from devstack.state import Paths
from ops.cli import common_options
from ops.stage import OpsError, resolve


def _port(value: int | None) -> int:
    if value is not None:
        return value
    text = os.environ.get("CONSOLE_PORT", "").strip()
    if text and not text.isdigit():
        raise OpsError(f"CONSOLE_PORT must be a number, not {text!r}")
    return int(text) if text else 8080


@click.command()
@click.option("--stage", default="local", show_default=True, metavar="STAGE",
              help="local: the stack `make run` started; otherwise a stage of .chalice/config.json, "
              "with your AWS credentials.")
@click.option("--port", type=click.IntRange(0, 65535),
              help="Port on 127.0.0.1 (default $CONSOLE_PORT or 8080; 0: any).")
def console(stage: str, port: int | None) -> int:
    """Serve the operator console on 127.0.0.1 against a stage, until Ctrl-C.

    Nothing is deployed: the pages read the stage's table and queues with your own AWS
    credentials, and replay/redrive act with them. `make run` already serves it for the local stack.
    """
    from console.serve import console_server, events_log, url_of

    target = resolve(stage)
    chosen = _port(port)
    events = events_log(Paths.default().root) if target.is_local else None
    try:
        server = console_server(target, chosen, events)
    except OSError as exc:
        raise OpsError(f"cannot listen on 127.0.0.1:{chosen}: {exc.strerror or exc}; choose another --port") from None
    click.echo(f"console for stage {stage} on {url_of(server)} (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("console stopped")
    finally:
        server.server_close()
    return 0


@click.command()
@click.option("--source", help="Only this source.")
@click.option("--interval", type=click.FloatRange(0.2, 60), default=None,
              help="Seconds between reads (default 1 locally, 5 for a deployed stage: each read scans the table).")
@common_options
def tail(source: str | None, interval: float | None, stage: str, as_json: bool) -> int:
    """Follow webhooks, status changes, failed attempts, published events and alerts, one line each.

    Colour on a terminal, plain when piped; --json prints one JSON object per line. Ctrl-C stops.
    """
    from console.serve import events_log
    from ops.tail import Follower, render

    target = resolve(stage)
    follower = Follower(target.store(), events_log(Paths.default().root) if target.is_local else None, source)
    follower.start()
    wait = interval if interval is not None else (1.0 if target.is_local else 5.0)
    if not as_json:
        click.echo(f"following stage {stage}{f' source {source}' if source else ''} (Ctrl-C stops)", err=True)
    stop = threading.Event()
    try:
        while not stop.is_set():
            for line in follower.poll():
                click.echo(render(line, as_json, lambda text, colour: click.style(text, fg=colour)))
            stop.wait(wait)
    except KeyboardInterrupt:
        pass
    return 0


def register(group: click.Group) -> None:
    for command in (console, tail):
        group.add_command(command)
