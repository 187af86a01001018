"""The `local` stage's webhook sources: secrets from environment variables, or local defaults.

A developer pointing a provider's test mode at the local stack sets that provider's variable (say
``STRIPE_WEBHOOK_SECRET`` from ``stripe listen``); everything else gets a random local value made
once and kept in ``.local/secrets.json``, so a restart does not invalidate what a sender holds.
Values that came from the environment are never written to disk nor printed.
"""

from __future__ import annotations

import base64
import json
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from devstack.pki import SUBJECT, LocalPki
from devstack.state import Paths, write_private

LOOPBACK_CERT_HOST = "127.0.0.1"


def _stripe() -> str:
    return "whsec_" + secrets.token_hex(24)


def _square() -> str:
    return secrets.token_urlsafe(16)


def _adyen() -> str:
    return secrets.token_hex(32).upper()


def _standard() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode("ascii")


def _paypal() -> str:
    alphabet = string.ascii_uppercase + string.digits
    return "".join(secrets.choice(alphabet) for _ in range(17))


@dataclass(frozen=True)
class SecretSpec:
    source: str
    variable: str
    generate: Callable[[], str]
    description: str


SPECS: tuple[SecretSpec, ...] = (
    SecretSpec("stripe", "STRIPE_WEBHOOK_SECRET", _stripe, "endpoint signing secret (whsec_...)"),
    SecretSpec("square", "SQUARE_SIGNATURE_KEY", _square, "subscription signature key"),
    SecretSpec("paypal", "PAYPAL_WEBHOOK_ID", _paypal, "webhook id"),
    SecretSpec("adyen", "ADYEN_HMAC_KEY", _adyen, "HMAC key (hex)"),
    SecretSpec("standard", "STANDARD_WEBHOOK_SECRET", _standard, "endpoint secret (whsec_<base64>)"),
)
SQUARE_URL_VARIABLE = "SQUARE_NOTIFICATION_URL"


@dataclass(frozen=True)
class ResolvedSecret:
    spec: SecretSpec
    value: str
    from_environment: bool

    def describe(self) -> str:
        """One line for the start-up banner: a local default is shown, a real secret never is."""
        if self.from_environment:
            return f"{self.spec.source:<9} {self.spec.description}: from ${self.spec.variable}"
        return f"{self.spec.source:<9} {self.spec.description}: {self.value}  (local default; set ${self.spec.variable} to override)"


def resolve_secrets(paths: Paths, environ: Mapping[str, str]) -> list[ResolvedSecret]:
    try:
        stored: dict[str, str] = json.loads(paths.secrets.read_text(encoding="utf-8"))
        if not isinstance(stored, dict):
            stored = {}
    except (FileNotFoundError, ValueError):
        stored = {}
    resolved: list[ResolvedSecret] = []
    changed = False
    for spec in SPECS:
        configured = environ.get(spec.variable, "").strip()
        if configured:
            resolved.append(ResolvedSecret(spec, configured, True))
            continue
        value = stored.get(spec.source)
        if not isinstance(value, str) or not value:
            value = spec.generate()
            stored[spec.source] = value
            changed = True
        resolved.append(ResolvedSecret(spec, value, False))
    if changed:
        write_private(paths.secrets, json.dumps(stored, indent=2) + "\n")
    return resolved


def square_notification_url(environ: Mapping[str, str], port: int) -> str:
    return environ.get(SQUARE_URL_VARIABLE, "").strip() or f"http://127.0.0.1:{port}/webhook/square"


def sources_document(
    resolved: list[ResolvedSecret], notification_url: str, pki: LocalPki
) -> dict[str, Any]:
    """The ``sources`` object of the stage's secret (see ``chalicelib/sources.py``)."""
    value = {item.spec.source: item.value for item in resolved}
    return {
        "stripe": {"secrets": [value["stripe"]]},
        "square": {"secrets": [value["square"]], "notificationUrl": notification_url},
        "paypal": {
            "secrets": [value["paypal"]],
            # The local CA and loopback certificate server; see devstack/pki.py.
            "certHosts": [LOOPBACK_CERT_HOST],
            "certSubjects": [SUBJECT],
            "trustRootsPem": pki.ca_pem,
            "allowLoopbackCertHost": True,
        },
        "adyen": {"secrets": [value["adyen"]]},
        "standard": {"secrets": [value["standard"]]},
    }
