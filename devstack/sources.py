"""The `local` stage's webhook sources: secrets from environment variables, or local defaults.

A developer pointing a provider's test mode at the local stack sets that provider's variable (say
``STRIPE_WEBHOOK_SECRET`` from ``stripe listen``); everything else gets a random local value made
once and kept in ``.local/secrets.json``, so a restart does not invalidate what a sender holds.
Values that came from the environment are never written to disk nor printed.

``LOCAL_SOURCES_FILE`` names a JSON document in the sources-secret format (``{"sources": {...}}``,
see ``chalicelib/sources.py``) whose entries are merged over these defaults: an entry replaces the
default of the same name whole, any other name is added. Entries are passed on as they are, broken
ones included, so extra sources (``stripe-eu``) and misconfigured ones can be tried over HTTP.
Only their names are printed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devstack.pki import LocalPki
from devstack.state import Paths, write_private
from providers_tooling import all_tooling
from providers_tooling.contract import LocalSecret, LocalStack


@dataclass(frozen=True)
class SecretSpec:
    """One source of the local stage and the secret its provider's tooling describes."""

    source: str
    local: LocalSecret

    @property
    def variable(self) -> str:
        return self.local.variable

    @property
    def description(self) -> str:
        return self.local.description


# By default each provider is a source of the same name (chalicelib/sources.py).
SPECS: tuple[SecretSpec, ...] = tuple(SecretSpec(tooling.name, tooling.local_secret) for tooling in all_tooling())
SQUARE_URL_VARIABLE = "SQUARE_NOTIFICATION_URL"
LOCAL_SOURCES_VARIABLE = "LOCAL_SOURCES_FILE"


class LocalSourcesError(ValueError):
    """``LOCAL_SOURCES_FILE`` cannot be used; the message is one line for the user (no values)."""
SOURCE_WIDTH = max(len(spec.source) for spec in SPECS)  # the banner's column of source names


@dataclass(frozen=True)
class ResolvedSecret:
    spec: SecretSpec
    value: str
    from_environment: bool

    def describe(self) -> str:
        """One line for the start-up banner: a local default is shown, a real secret never is."""
        if self.from_environment:
            return f"{self.spec.source:<{SOURCE_WIDTH}} {self.spec.description}: from ${self.spec.variable}"
        return (f"{self.spec.source:<{SOURCE_WIDTH}} {self.spec.description}: {self.value}  "
                f"(local default; set ${self.spec.variable} to override)")


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
            value = spec.local.generate()
            stored[spec.source] = value
            changed = True
        resolved.append(ResolvedSecret(spec, value, False))
    if changed:
        write_private(paths.secrets, json.dumps(stored, indent=2) + "\n")
    return resolved


def reconciler_hint(environ: Mapping[str, str]) -> str | None:
    """The banner's line about the local ``stripe`` source's API (providers_tooling/stripe:
    ``STRIPE_API_KEY``, ``STRIPE_API_BASE``); None when no key is set. The key is never shown."""
    from providers_tooling.stripe import API_BASE_VARIABLE, API_KEY_VARIABLE

    if not environ.get(API_KEY_VARIABLE, "").strip():
        return None
    base = environ.get(API_BASE_VARIABLE, "").strip() or "https://api.stripe.com"
    return f"stripe events API (reconciler): {base}, key from ${API_KEY_VARIABLE}"


def square_notification_url(environ: Mapping[str, str], port: int) -> str:
    return environ.get(SQUARE_URL_VARIABLE, "").strip() or f"http://127.0.0.1:{port}/webhook/square"


def sources_document(
    resolved: list[ResolvedSecret], notification_url: str, pki: LocalPki
) -> dict[str, Any]:
    """The ``sources`` object of the stage's secret (see ``chalicelib/sources.py``): each
    provider's tooling writes its own entry."""
    stack = LocalStack(pki=pki, square_notification_url=notification_url)
    by_source = {tooling.name: tooling for tooling in all_tooling()}
    return {item.spec.source: by_source[item.spec.source].local_source(item.value, stack) for item in resolved}


def local_sources(environ: Mapping[str, str], cwd: Path | None = None) -> dict[str, Any]:
    """The ``sources`` object of the file ``$LOCAL_SOURCES_FILE`` names ({} when it is unset).

    A relative path is taken from ``cwd`` (the current directory: where ``make run`` was typed).
    Only the document's shape is checked here; each entry is the app's to accept or refuse.
    """
    configured = environ.get(LOCAL_SOURCES_VARIABLE, "").strip()
    if not configured:
        return {}
    path = Path(configured)
    if not path.is_absolute():
        path = (cwd or Path.cwd()) / path
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise LocalSourcesError(f"{LOCAL_SOURCES_VARIABLE}: cannot read {path} ({type(exc).__name__})") from None
    except ValueError:
        raise LocalSourcesError(f"{LOCAL_SOURCES_VARIABLE}: {path} is not UTF-8 JSON") from None
    if not isinstance(document, dict) or not isinstance(document.get("sources"), dict):
        raise LocalSourcesError(
            f'{LOCAL_SOURCES_VARIABLE}: {path} must be an object with a "sources" object, as the sources secret'
        )
    return dict(document["sources"])


def merge_sources(defaults: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    """``extra``'s entries over ``defaults``: one of the same name replaces the default whole."""
    return {**defaults, **extra}
