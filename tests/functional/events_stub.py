"""A local stand-in for a provider's events list, with faults on demand (tests only).

It answers Stripe's documented list shape (docs.stripe.com/api/events/list: ``object: list``,
``data`` newest first, ``has_more``, ``starting_after``, ``created[gte]``/``created[lte]``) from an
in-memory list of events. ``faults`` is consumed one per request: ``"timeout"`` (answers after the
client gave up), ``"429"``, ``"500"``, ``"repeat"`` (the previous answer again, as if the cursor
was ignored), or ``None`` (answer normally).
"""

from __future__ import annotations

import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class StubState:
    events: list[dict[str, Any]] = field(default_factory=list)
    faults: list[str | None] = field(default_factory=list)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    last_answer: bytes = b""
    slow_seconds: float = 1.5
    page_size: int = 10
    """The most events a page holds whatever ``limit`` asks (servers may cap it): small, so a test
    needs few events for several pages."""

    def add(self, event_type: str, created: int, event_id: str | None = None) -> dict[str, Any]:
        event_id = event_id or f"evt_stub{len(self.events):04d}"
        event = {
            "id": event_id, "object": "event", "type": event_type, "created": created, "livemode": False,
            "api_version": "2024-06-20",
            "data": {"object": {"id": f"pi_{event_id}", "object": "payment_intent", "amount": 1000,
                                "amount_received": 1000, "currency": "usd", "status": "succeeded"}},
        }
        self.events.append(event)
        return event


def _page(state: StubState, query: dict[str, str]) -> dict[str, Any]:
    gte = int(query.get("created[gte]", "0"))
    lte = int(query.get("created[lte]", str(2**62)))
    listed = sorted((e for e in state.events if gte <= e["created"] <= lte), key=lambda e: -e["created"])
    start = 0
    if "starting_after" in query:
        ids = [e["id"] for e in listed]
        start = ids.index(query["starting_after"]) + 1
    limit = min(int(query.get("limit", "10")), state.page_size)
    data = listed[start : start + limit]
    return {"object": "list", "url": "/v1/events", "data": data, "has_more": start + limit < len(listed)}


class _Handler(BaseHTTPRequestHandler):
    state: StubState

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        state = self.state
        state.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}))
        fault = state.faults.pop(0) if state.faults else None
        if fault in ("429", "500"):
            self._answer(int(fault), b'{"error": {"message": "stub fault"}}')
            return
        if fault == "timeout":
            time.sleep(state.slow_seconds)
        if fault == "repeat" and state.last_answer:
            self._answer(200, state.last_answer)
            return
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query))
        body = json.dumps(_page(state, query)).encode()
        state.last_answer = body
        self._answer(200, body)

    def _answer(self, status: int, body: bytes) -> None:
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):  # the client timed out first
            pass


@contextmanager
def events_stub() -> Iterator[tuple[str, StubState]]:
    """``(base_url, state)`` of a stub listening on a free port of 127.0.0.1."""
    state = StubState()
    handler = type("Handler", (_Handler,), {"state": state})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class PagedStub:
    """Serves fixture pages in order: the first request gets ``pages[0]``, a request carrying the
    token that page handed out gets the next one. ``token_of(path, body)`` reads the token from a
    request the way the provider's API takes it; ``faults`` as for :class:`StubState` (a fault
    answers ``error_body``). ``{base}`` in a page is replaced by the stub's URL (PayPal's links)."""

    pages: list[str]
    tokens: list[str | None]
    """The token that asks for ``pages[i]`` (None for the first)."""
    token_of: Any
    error_body: str = "{}"
    faults: list[str | None] = field(default_factory=list)
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    base: str = ""
    oauth_token: str = "A21AAtest-access-token"


class _PagedHandler(BaseHTTPRequestHandler):
    stub: PagedStub

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    def _handle(self, method: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        stub = self.stub
        stub.requests.append((method, self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        if self.path == "/v1/oauth2/token":
            self._answer(200, json.dumps({"access_token": stub.oauth_token, "token_type": "Bearer",
                                          "expires_in": 32400}).encode())
            return
        fault = stub.faults.pop(0) if stub.faults else None
        if fault in ("429", "500"):
            self._answer(int(fault), stub.error_body.encode())
            return
        token = stub.token_of(self.path, body)
        if token not in stub.tokens:
            self._answer(400, stub.error_body.encode())
            return
        self._answer(200, stub.pages[stub.tokens.index(token)].replace("{base}", stub.base).encode())

    def do_GET(self) -> None:  # noqa: N802
        self._handle("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._handle("POST")

    def _answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def paged_stub(stub: PagedStub) -> Iterator[PagedStub]:
    handler = type("Handler", (_PagedHandler,), {"stub": stub})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    stub.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
