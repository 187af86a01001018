"""A local stand-in for PayPal's message-verification certificate, for the `local` stage only.

PayPal signs with a private key we never have, so locally we play PayPal: a throw-away CA issues a
certificate named like PayPal's sandbox one, a tiny HTTP server on loopback serves it at a
PayPal-shaped path, and the local `paypal` source trusts that CA and allows that host through the
provider's ``allowLoopbackCertHost`` option (honoured only when ``STAGE`` is ``local``; see
``chalicelib/providers/paypal/chain.py``). The signing key and the certificate URL are written under
``.local/paypal/`` so that senders (``python -m ops send paypal ...``) can sign like PayPal does.

The CA and key are kept across restarts (so a sender's files stay valid) and made anew when missing,
unreadable or within a week of expiry.
"""

from __future__ import annotations

import datetime as dt
import http.server
import threading
from dataclasses import dataclass
from pathlib import Path

from devstack.state import Paths, write_private

SUBJECT = "messageverificationcerts.sandbox.paypal.com"
CERT_PATH_PREFIX = "/v1/notifications/certs/"
VALIDITY = dt.timedelta(days=365)
RENEW_BEFORE = dt.timedelta(days=7)


@dataclass(frozen=True)
class LocalPki:
    ca_pem: str
    cert_pem: str
    key_pem: str
    cert_id: str
    """The last part of the certificate URL, like PayPal's ``CERT-360caa42-...``."""


def _files(paths: Paths) -> tuple[Path, Path, Path]:
    return paths.paypal / "ca.pem", paths.paypal / "cert.pem", paths.paypal / "signing-key.pem"


def _name(common_name: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "payment-webhooks local stack"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _key_usage(*, ca: bool):
    from cryptography import x509

    return x509.KeyUsage(
        digital_signature=True, content_commitment=False, key_encipherment=not ca,
        data_encipherment=False, key_agreement=False, key_cert_sign=ca, crl_sign=ca,
        encipher_only=False, decipher_only=False,
    )


def generate(now: dt.datetime | None = None) -> LocalPki:
    """A root CA and a leaf like PayPal's (CN and DNS SAN = :data:`SUBJECT`, serverAuth EKU)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = now or dt.datetime.now(dt.UTC)
    not_before, not_after = now - dt.timedelta(hours=1), now + VALIDITY
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_name = _name("payment-webhooks local PayPal CA")
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf = (
        x509.CertificateBuilder()
        .subject_name(_name(SUBJECT))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(SUBJECT)]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    return LocalPki(
        ca_pem=ca.public_bytes(pem).decode("ascii"),
        cert_pem=leaf.public_bytes(pem).decode("ascii"),
        key_pem=key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii"),
        cert_id=_cert_id(leaf.fingerprint(hashes.SHA256()).hex()),
    )


def _cert_id(fingerprint_hex: str) -> str:
    return f"CERT-{fingerprint_hex[:8]}-{fingerprint_hex[8:16]}-{fingerprint_hex[16:24]}"


def _load(paths: Paths, now: dt.datetime) -> LocalPki | None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    ca_file, cert_file, key_file = _files(paths)
    try:
        ca_pem, cert_pem, key_pem = (f.read_text(encoding="ascii") for f in (ca_file, cert_file, key_file))
        leaf = x509.load_pem_x509_certificate(cert_pem.encode("ascii"))
        x509.load_pem_x509_certificate(ca_pem.encode("ascii"))
    except (OSError, ValueError):
        return None
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc - RENEW_BEFORE:
        return None
    return LocalPki(ca_pem, cert_pem, key_pem, _cert_id(leaf.fingerprint(hashes.SHA256()).hex()))


def load_or_create(paths: Paths) -> LocalPki:
    now = dt.datetime.now(dt.UTC)
    existing = _load(paths, now)
    if existing is not None:
        return existing
    pki = generate(now)
    ca_file, cert_file, key_file = _files(paths)
    ca_file.write_text(pki.ca_pem, encoding="ascii")
    cert_file.write_text(pki.cert_pem, encoding="ascii")
    write_private(key_file, pki.key_pem)
    return pki


def signing_key_file(paths: Paths) -> Path:
    return _files(paths)[2]


class _CertHandler(http.server.BaseHTTPRequestHandler):
    server: CertServer

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if self.path != self.server.cert_path:
            self.send_error(404)
            return
        body = self.server.document
        self.send_response(200)
        self.send_header("Content-Type", "application/x-pem-file")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        return  # one line per webhook in the runner's output, not one per certificate fetch


class CertServer(http.server.ThreadingHTTPServer):
    """Serves the leaf certificate at ``/v1/notifications/certs/<cert id>`` on loopback."""

    daemon_threads = True

    def __init__(self, pki: LocalPki, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__((host, port), _CertHandler)
        self.document = pki.cert_pem.encode("ascii")
        self.cert_path = CERT_PATH_PREFIX + pki.cert_id
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server's host (typeshed allows bytes for AF_UNIX)
        return f"http://{host}:{port}{self.cert_path}"

    def start(self) -> None:
        self._thread = threading.Thread(target=self.serve_forever, name="paypal-certs", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()
