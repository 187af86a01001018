"""The provider registry: a provider is one module, found by name and imported on first use.

Importing lazily keeps the cold start of every Lambda free of what only one provider needs
(PayPal's certificate checks pull in ``cryptography``). Adding a provider means adding its module
and its name below.
"""

from __future__ import annotations

import importlib

from chalicelib.providers.base import Provider

PROVIDER_MODULES: dict[str, str] = {
    "stripe": "chalicelib.providers.stripe",
    "square": "chalicelib.providers.square",
    "paypal": "chalicelib.providers.paypal",
    "adyen": "chalicelib.providers.adyen",
    "standard": "chalicelib.providers.standard",
}

_loaded: dict[str, Provider] = {}


def get_provider(name: str) -> Provider:
    """The provider called ``name``; ``KeyError`` for a name that is not registered."""
    provider = _loaded.get(name)
    if provider is None:
        module = importlib.import_module(PROVIDER_MODULES[name])
        provider = module.PROVIDER
        _loaded[name] = provider
    return provider


def known_providers() -> frozenset[str]:
    return frozenset(PROVIDER_MODULES)
