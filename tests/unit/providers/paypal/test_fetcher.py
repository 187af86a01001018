"""PayPal provider: the real urllib fetcher, against a local http.server (local-stage loopback allowance).

Certificates come from a fake fetcher that records its calls, except in test_fetcher.py, which
uses the real urllib fetcher against a local http.server on 127.0.0.1.
"""

from __future__ import annotations

import http.server
import socket
import threading
from collections.abc import Iterator

import pytest

from chalicelib.errors import (
    DependencyUnavailable,
    InvalidSignature,
)
from chalicelib.providers.contract import SourceConfig
from chalicelib.providers.paypal import PayPalProvider
from chalicelib.providers.paypal import fetch as paypal_fetch
from chalicelib.providers.paypal.chain import CertificateStore
from chalicelib.providers.paypal.fetch import UrllibCertFetcher
from tests.unit.providers.paypal.helpers import (
    BODY,
    NOW,
    WEBHOOK_ID,
    ca_source,
    chain_document,
)
from tests.unit.providers.paypal_pki import (
    Issued,
    sign_delivery,
)


class _CertServer(http.server.ThreadingHTTPServer):
    document: bytes = b""
    requested: list[str]

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the fetcher hangs up on over-size answers: a broken pipe here is expected


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _CertServer

    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def do_GET(self) -> None:  # noqa: N802
        self.server.requested.append(self.path)
        if self.path == "/cert":
            self._send(200, self.server.document)
        elif self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/cert")
            self.send_header("Content-Length", "0")
            self.end_headers()
        elif self.path == "/big":
            self._send(200, b"A" * (paypal_fetch.MAX_CERT_DOCUMENT_BYTES + 1))
        elif self.path == "/big-chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"A" * 4096
            for _ in range(20):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.wfile.write(b"0\r\n\r\n")
        elif self.path == "/error":
            self._send(500, b"oops")
        else:
            self._send(404, b"not found")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def cert_server(pki: dict[str, Issued]) -> Iterator[_CertServer]:
    server = _CertServer(("127.0.0.1", 0), _Handler)
    server.document = chain_document(pki["leaf"], pki["intermediate"])
    server.requested = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def dead_env_proxies(monkeypatch: pytest.MonkeyPatch) -> None:
    # An environment proxy that does not exist: the fetcher must ignore it.
    for scheme in ("http", "https", "all"):
        for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY"):
            monkeypatch.setenv(name, "http://127.0.0.1:9")
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def local_url(server: _CertServer, path: str) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}{path}"


def local_source(pki: dict[str, Issued]) -> SourceConfig:
    return ca_source(pki, stage="local", certHosts=["127.0.0.1"], allowLoopbackCertHost=True)


@pytest.mark.usefixtures("dead_env_proxies")
def test_real_fetcher_fetches_a_local_certificate_ignoring_env_proxies(
    pki: dict[str, Issued], cert_server: _CertServer
) -> None:
    # GIVEN the local stage, the loopback allowance, a local server serving the test chain, and
    # HTTP(S)_PROXY pointing at a dead proxy
    provider = PayPalProvider(CertificateStore())  # the real urllib fetcher
    url = local_url(cert_server, "/cert")
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN the delivery is verified twice
    provider.verify(BODY, headers, local_source(pki), NOW)
    events = provider.verify(BODY, headers, local_source(pki), NOW)

    # THEN it verifies, the server was asked directly (no proxy) and only once (cache)
    assert len(events) == 1
    assert cert_server.requested == ["/cert"]


@pytest.mark.usefixtures("dead_env_proxies")
def test_real_fetcher_does_not_follow_redirects(
    pki: dict[str, Issued], cert_server: _CertServer
) -> None:
    # GIVEN a cert URL that answers 302 to the genuine certificate
    provider = PayPalProvider(CertificateStore())
    url = local_url(cert_server, "/redirect")
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN the redirect is a refusal, and its target was never requested
    with pytest.raises(InvalidSignature):
        provider.verify(BODY, headers, local_source(pki), NOW)
    assert cert_server.requested == ["/redirect"]


@pytest.mark.usefixtures("dead_env_proxies")
@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/big", InvalidSignature),
        ("/big-chunked", InvalidSignature),
        ("/missing", InvalidSignature),
        ("/error", DependencyUnavailable),
    ],
)
def test_real_fetcher_refusals_and_failures(
    pki: dict[str, Issued], cert_server: _CertServer, path: str, error: type[Exception]
) -> None:
    # GIVEN a cert URL that answers too much, 404 or 500
    provider = PayPalProvider(CertificateStore())
    url = local_url(cert_server, path)
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN over-size and 404 are refusals, a 500 is a retryable dependency failure
    with pytest.raises(error):
        provider.verify(BODY, headers, local_source(pki), NOW)


@pytest.mark.usefixtures("dead_env_proxies")
def test_real_fetcher_connection_failure_is_dependency_unavailable(pki: dict[str, Issued]) -> None:
    # GIVEN a loopback port on which nothing listens
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/cert"
    provider = PayPalProvider(CertificateStore(fetcher=UrllibCertFetcher(timeout_seconds=2)))
    headers = sign_delivery(pki["leaf"].key, BODY, WEBHOOK_ID, url)

    # WHEN / THEN a 503, not a bad signature
    with pytest.raises(DependencyUnavailable):
        provider.verify(BODY, headers, local_source(pki), NOW)


def test_real_fetcher_refuses_other_schemes_itself() -> None:
    # GIVEN the fetcher called directly with a file: URL (check_cert_url normally runs first)
    # WHEN / THEN it refuses without opening anything
    with pytest.raises(InvalidSignature):
        UrllibCertFetcher()("file:///etc/passwd")
