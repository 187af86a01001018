"""Test PKI for the PayPal provider tests: the real 2017 delivery, and a throw-away CA.

Nothing here touches the network. The real delivery and its certificates come from
``tests/fixtures/paypal`` (a copy of the project's shared fixtures; see its README); the DigiCert root is
embedded below because certifi's bundle no longer carries it (checked by a test), and its SHA-256
fingerprint is pinned.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PAYPAL_FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "paypal"

# DigiCert High Assurance EV Root CA: the issuer of "DigiCert SHA2 Extended Validation Server CA",
# which issued the 2017 sandbox message-verification certificate. Valid 2006-11-10..2031-11-10.
# Copied from the OS trust store (/etc/ssl/certs/DigiCert_High_Assurance_EV_Root_CA.pem); the
# fingerprint is DigiCert's published one. certifi (2026.10.19) no longer includes this root.
DIGICERT_HIGH_ASSURANCE_EV_ROOT_SHA256 = (
    "7431e5f4c3c1ce4690774f0b61e05440883ba9a01ed00ba6abd7806ed3b118cf"
)
DIGICERT_HIGH_ASSURANCE_EV_ROOT_PEM = """\
-----BEGIN CERTIFICATE-----
MIIDxTCCAq2gAwIBAgIQAqxcJmoLQJuPC3nyrkYldzANBgkqhkiG9w0BAQUFADBs
MQswCQYDVQQGEwJVUzEVMBMGA1UEChMMRGlnaUNlcnQgSW5jMRkwFwYDVQQLExB3
d3cuZGlnaWNlcnQuY29tMSswKQYDVQQDEyJEaWdpQ2VydCBIaWdoIEFzc3VyYW5j
ZSBFViBSb290IENBMB4XDTA2MTExMDAwMDAwMFoXDTMxMTExMDAwMDAwMFowbDEL
MAkGA1UEBhMCVVMxFTATBgNVBAoTDERpZ2lDZXJ0IEluYzEZMBcGA1UECxMQd3d3
LmRpZ2ljZXJ0LmNvbTErMCkGA1UEAxMiRGlnaUNlcnQgSGlnaCBBc3N1cmFuY2Ug
RVYgUm9vdCBDQTCCASIwDQYJKoZIhvcNAQEBBQADggEPADCCAQoCggEBAMbM5XPm
+9S75S0tMqbf5YE/yc0lSbZxKsPVlDRnogocsF9ppkCxxLeyj9CYpKlBWTrT3JTW
PNt0OKRKzE0lgvdKpVMSOO7zSW1xkX5jtqumX8OkhPhPYlG++MXs2ziS4wblCJEM
xChBVfvLWokVfnHoNb9Ncgk9vjo4UFt3MRuNs8ckRZqnrG0AFFoEt7oT61EKmEFB
Ik5lYYeBQVCmeVyJ3hlKV9Uu5l0cUyx+mM0aBhakaHPQNAQTXKFx01p8VdteZOE3
hzBWBOURtCmAEvF5OYiiAhF8J2a3iLd48soKqDirCmTCv2ZdlYTBoSUeh10aUAsg
EsxBu24LUTi4S8sCAwEAAaNjMGEwDgYDVR0PAQH/BAQDAgGGMA8GA1UdEwEB/wQF
MAMBAf8wHQYDVR0OBBYEFLE+w2kD+L9HAdSYJhoIAu9jZCvDMB8GA1UdIwQYMBaA
FLE+w2kD+L9HAdSYJhoIAu9jZCvDMA0GCSqGSIb3DQEBBQUAA4IBAQAcGgaX3Nec
nzyIZgYIVyHbIUf4KmeqvxgydkAQV8GK83rZEWWONfqe/EW1ntlMMUu4kehDLI6z
eM7b41N5cdblIZQB2lWHmiRk9opmzN6cN82oNLFpmyPInngiK3BD41VHMWEZ71jF
hS9OMPagMRYjyOfiZRYzy78aG6A9+MpeizGLYAiJLQwGXFK3xPkKmNEVX58Svnw2
Yzi9RKR/5CYrCsSXaQ3pjOLAEFe4yHYSkVXySGnYvCoCWw9E1CAx2/S6cCZdkGCe
vEsXCS+0yx5DaMkHJ8HSXPfqIbloEpw8nL+e/IBcm2PN7EeqJSdnoDfzAIJ9VNep
+OkuE6N36B9K
-----END CERTIFICATE-----
"""


def pem(*certificates: x509.Certificate) -> str:
    return "".join(c.public_bytes(Encoding.PEM).decode("ascii") for c in certificates)


@dataclass(frozen=True)
class RealDelivery:
    """PayPal's signed sandbox delivery of 2017-03-30, with the certificates that verify it."""

    transmission_id: str
    transmission_time: str
    webhook_id: str
    transmission_sig: str
    auth_algo: str
    body: bytes
    leaf_pem: str
    intermediate_pem: str
    root_pem: str

    # PayPal's sandbox cert URLs look like this one; the fake fetcher serves the fixture for it.
    cert_url = (
        "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77"
    )
    transmitted_at = dt.datetime(2017, 3, 30, 20, 4, 5, tzinfo=dt.UTC).timestamp()

    def headers(self, **overrides: str) -> dict[str, str]:
        headers = {
            "paypal-transmission-id": self.transmission_id,
            "paypal-transmission-time": self.transmission_time,
            "paypal-transmission-sig": self.transmission_sig,
            "paypal-cert-url": self.cert_url,
            "paypal-auth-algo": self.auth_algo,
        }
        headers.update(overrides)
        return headers


def load_real_delivery() -> RealDelivery:
    data = json.loads((PAYPAL_FIXTURES / "paypal_real_sandbox_2017.json").read_text())
    leaf_bytes = (PAYPAL_FIXTURES / "paypal_sandbox_msgverif_2017.crt").read_bytes()
    leaf = x509.load_pem_x509_certificate(leaf_bytes)
    # The intermediate is stored as DER in the fixtures.
    intermediate_bytes = (PAYPAL_FIXTURES / "DigiCertSHA2EVServerCA.crt").read_bytes()
    intermediate = x509.load_der_x509_certificate(intermediate_bytes)
    root = x509.load_pem_x509_certificate(DIGICERT_HIGH_ASSURANCE_EV_ROOT_PEM.encode())
    assert root.fingerprint(hashes.SHA256()).hex() == DIGICERT_HIGH_ASSURANCE_EV_ROOT_SHA256
    assert intermediate.issuer == root.subject and leaf.issuer == intermediate.subject
    return RealDelivery(
        transmission_id=data["transmission_id"],
        transmission_time=data["transmission_time"],
        webhook_id=data["webhook_id"],
        transmission_sig=data["transmission_sig"],
        auth_algo=data["auth_algo"],
        body=data["body"].encode("utf-8"),
        leaf_pem=pem(leaf),
        intermediate_pem=pem(intermediate),
        root_pem=pem(root),
    )


# ------------------------------------------------------------------------------------------
# A throw-away CA: root -> intermediate -> message-verification leaf, made with cryptography.
# ------------------------------------------------------------------------------------------

PROD_SUBJECT = "messageverificationcerts.paypal.com"
_TLS_USAGES = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
SANDBOX_SUBJECT = "messageverificationcerts.sandbox.paypal.com"


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate
    key: rsa.RSAPrivateKey

    @property
    def pem(self) -> str:
        return pem(self.certificate)


def new_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Webhook Tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def make_ca(
    common_name: str,
    not_before: dt.datetime,
    not_after: dt.datetime,
    issuer: Issued | None = None,
    key: rsa.RSAPrivateKey | None = None,
) -> Issued:
    """A root CA (``issuer`` None: self-signed) or an intermediate CA signed by ``issuer``."""
    key = key or new_key()
    subject = _name(common_name)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.certificate.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    signer = issuer.key if issuer else key
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        ).add_extension(
            x509.ExtendedKeyUsage(_TLS_USAGES),
            critical=False,
        )
    return Issued(builder.sign(signer, hashes.SHA256()), key)


def make_leaf(
    issuer: Issued,
    not_before: dt.datetime,
    not_after: dt.datetime,
    common_name: str = PROD_SUBJECT,
    dns_names: tuple[str, ...] | None = None,
    key: rsa.RSAPrivateKey | None = None,
) -> Issued:
    """A leaf like PayPal's: CN and DNS SAN = the message-verification name, serverAuth EKU."""
    key = key or new_key()
    dns_names = (common_name,) if dns_names is None else dns_names
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(issuer.certificate.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False, key_encipherment=True,
                data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage(_TLS_USAGES),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer.key.public_key()),
            critical=False,
        )
    )
    if dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(name) for name in dns_names]), critical=False
        )
    return Issued(builder.sign(issuer.key, hashes.SHA256()), key)


def sign_delivery(
    key: rsa.RSAPrivateKey,
    body: bytes,
    webhook_id: str,
    cert_url: str,
    transmission_id: str = "b2384410-f8d2-11e7-8a8e-3f2a0a2d5f7e",
    transmission_time: str = "2026-06-01T12:00:00Z",
) -> dict[str, str]:
    """Headers of a delivery signed the way PayPal signs (independent of the code under test)."""
    crc = zlib.crc32(body) & 0xFFFFFFFF
    message = f"{transmission_id}|{transmission_time}|{webhook_id}|{crc}".encode()
    signature = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    return {
        "paypal-transmission-id": transmission_id,
        "paypal-transmission-time": transmission_time,
        "paypal-transmission-sig": base64.b64encode(signature).decode("ascii"),
        "paypal-cert-url": cert_url,
        "paypal-auth-algo": "SHA256withRSA",
    }


class FakeFetcher:
    """Serves certificate documents by URL from memory and records every call."""

    def __init__(self, documents: dict[str, bytes] | None = None, error: Exception | None = None):
        self.documents = dict(documents or {})
        self.error = error
        self.calls: list[str] = []

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        if self.error is not None:
            raise self.error
        return self.documents[url]
