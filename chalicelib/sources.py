"""Named webhook sources, read from one JSON secret per stage and cached with a short TTL.

The secret looks like::

    {"sources": {
        "stripe":      {"secrets": ["whsec_new", "whsec_old"]},
        "stripe-eu":   {"provider": "stripe", "secrets": ["whsec_..."], "toleranceSeconds": 300},
        "square":      {"secrets": ["sig-key"], "notificationUrl": "https://hooks.example.com/webhook/square"},
        "paypal":      {"secrets": ["<webhook id>"]},
        "adyen":       {"secrets": ["<hex hmac key>"]},
        "standard":    {"secrets": ["whsec_<base64>"]},
        "stripe-api":  {"provider": "stripe", "secrets": ["whsec_..."], "api": {"key": "rk_live_..."}}
    }}

``api`` (optional) holds the provider API credentials that only the reconciler reads
(chalicelib/reconcile/credentials.py); the receiver never looks at it.

A source's name is what the URL carries (``/webhook/<name>``, :data:`SOURCE_NAME`): one the URL
could never reach is a configuration error. A source's provider defaults to its own name. Every other key
is a provider option (documented in
that provider's module). Several secrets are valid at once, which is how rotation works without
downtime: add the new one, switch the provider over, remove the old one; each step is live within
the cache TTL.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from chalicelib import log
from chalicelib.errors import ConfigurationError, DependencyUnavailable, SourceMisconfigured
from chalicelib.providers import known_providers
from chalicelib.providers.contract import SourceConfig

# A failed refresh keeps serving the last good configuration this many TTLs long: a short
# Secrets Manager outage must not turn into rejected (and retried) webhooks.
STALE_GRACE_TTLS = 10
_RESERVED_KEYS = {"provider", "secrets", "toleranceSeconds"}
# toleranceSeconds per provider: (default, largest allowed). PayPal's signed time must admit its
# retries (25 over 3 days, not documented as re-signed): chalicelib/providers/paypal/window.py.
# Literals here, not imported, so parsing a source never imports a provider package.
_TOLERANCE_SECONDS: dict[str, tuple[int, int]] = {"paypal": (4 * 86400, 4 * 86400)}
_DEFAULT_TOLERANCE_SECONDS = (300, 3600)
SOURCE_NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
"""A source name, matched with ``fullmatch`` (``^...$`` with ``match`` admits a trailing newline)."""


def parse_source(name: str, entry: Any, stage: str = "") -> SourceConfig:
    """Validate one source entry; :class:`ConfigurationError` says what is wrong.

    The messages name the source and the field, never a field's value: a secret pasted into the
    wrong field must not reach the logs. ``stage`` is the stage the source is served in (see
    ``SourceConfig.stage``).
    """
    if not SOURCE_NAME.fullmatch(name):
        # Not echoed either: a name the URL cannot carry may be anything (a pasted secret).
        raise ConfigurationError("a source name must be 1-64 of a-z, 0-9, '_' and '-', starting with a letter or digit")
    if not isinstance(entry, Mapping):
        raise ConfigurationError(f"source {name!r}: entry must be an object")
    provider = entry.get("provider", name)
    if not isinstance(provider, str) or provider not in known_providers():
        raise ConfigurationError(f"source {name!r}: 'provider' is not a registered provider")
    secrets = entry.get("secrets")
    if (
        not isinstance(secrets, list)
        or not secrets
        or not all(isinstance(s, str) and s for s in secrets)
    ):
        raise ConfigurationError(f"source {name!r}: 'secrets' must be a non-empty list of strings")
    default_tolerance, max_tolerance = _TOLERANCE_SECONDS.get(provider, _DEFAULT_TOLERANCE_SECONDS)
    tolerance = entry.get("toleranceSeconds", default_tolerance)
    if not isinstance(tolerance, int) or isinstance(tolerance, bool) or not 0 < tolerance <= max_tolerance:
        raise ConfigurationError(f"source {name!r}: 'toleranceSeconds' must be 1..{max_tolerance}")
    options = {k: v for k, v in entry.items() if k not in _RESERVED_KEYS}
    return SourceConfig(
        name=name,
        provider=provider,
        secrets=tuple(secrets),
        tolerance_seconds=tolerance,
        options=options,
        stage=stage,
    )


@dataclass(frozen=True)
class SourceTable:
    """One parsed configuration: valid sources, and names whose entry is broken (with the problem)."""

    sources: Mapping[str, SourceConfig]
    broken: Mapping[str, str]

    @classmethod
    def from_document(cls, document: Any, stage: str = "") -> SourceTable:
        if not isinstance(document, Mapping) or not isinstance(document.get("sources"), Mapping):
            raise ConfigurationError("the sources secret must be an object with a 'sources' object")
        sources: dict[str, SourceConfig] = {}
        broken: dict[str, str] = {}
        for name, entry in document["sources"].items():
            try:
                sources[name] = parse_source(str(name), entry, stage)
            except ConfigurationError as exc:
                # One broken entry must not take every other source down with it. A name the URL
                # cannot carry is not logged (it could be anything); it cannot be requested anyway.
                reachable = bool(SOURCE_NAME.fullmatch(str(name)))
                log.error(
                    "source configuration invalid",
                    source=name if reachable else None,
                    problem=str(exc),
                    fault="configuration",  # counted by the configuration-fault alarm
                )
                broken[name] = str(exc)
        return cls(sources=sources, broken=broken)


class SourceRegistry:
    """Looks sources up by name from the stage's secret, refreshed every ``ttl_seconds``."""

    def __init__(
        self,
        secretsmanager: Any,
        secret_id: str,
        ttl_seconds: int,
        clock: Callable[[], float] = time.monotonic,
        stage: str = "",
    ) -> None:
        self._client = secretsmanager
        self._secret_id = secret_id
        self._ttl = ttl_seconds
        self._clock = clock
        self._stage = stage
        self._table: SourceTable | None = None
        self._loaded_at = 0.0
        self._lock = threading.Lock()

    def get(self, name: str) -> SourceConfig | None:
        """The source called ``name``, or None if none is configured under that name.

        Raises :class:`DependencyUnavailable` when the configuration cannot be read (or that
        source's entry is broken): the provider retries instead of being told the source is gone.
        """
        table = self._current()
        problem = table.broken.get(name)
        if problem is not None:
            raise SourceMisconfigured(problem)
        return table.sources.get(name)

    def configured(self) -> list[SourceConfig]:
        """Every valid source (the reconciler's list; a broken entry is logged when loaded)."""
        return list(self._current().sources.values())

    def _current(self) -> SourceTable:
        now = self._clock()
        if self._table is not None and now - self._loaded_at < self._ttl:
            return self._table
        with self._lock:
            if self._table is not None and now - self._loaded_at < self._ttl:
                return self._table
            try:
                self._table = self._load()
                self._loaded_at = now
            except Exception as exc:  # any failure to read or parse: fall back or answer 503
                usable = self._table is not None and now - self._loaded_at < self._ttl * STALE_GRACE_TTLS
                log.error(
                    "sources configuration unavailable",
                    errorType=log.error_type(exc),
                    servingStale=usable,
                )
                if not usable:
                    raise DependencyUnavailable() from None
            assert self._table is not None
            return self._table

    def _load(self) -> SourceTable:
        response = self._client.get_secret_value(SecretId=self._secret_id)
        try:
            document = json.loads(response["SecretString"])
        except (KeyError, ValueError) as exc:
            raise ConfigurationError("the sources secret is not JSON text") from exc
        return SourceTable.from_document(document, self._stage)
