"""Serve the console on 127.0.0.1 only: beside the local stack (a thread of ``make run``) or on its
own (``python -m ops console``)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from console.app import create_app
from console.data import Console
from console.events import EventLog
from ops.stage import StageTarget

HOST = "127.0.0.1"
DEFAULT_PORT = 8080
EVENTS_FILE = "events.jsonl"


def events_log(state_dir: Path) -> EventLog:
    """Where the local stack keeps what it saw published (``console.events``)."""
    return EventLog(state_dir / EVENTS_FILE)


def console_server(target: StageTarget, port: int, events: EventLog | None) -> BaseWSGIServer:
    """A threaded WSGI server bound to 127.0.0.1 (port 0: a free one; see ``server_port``)."""
    app: Any = create_app(Console(target, events))
    return make_server(HOST, port, app, threaded=True)


def serve_in_thread(server: BaseWSGIServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="console", daemon=True)
    thread.start()
    return thread


def url_of(server: BaseWSGIServer) -> str:
    return f"http://{HOST}:{server.server_port}"
