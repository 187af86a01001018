"""The provider registry: one line per provider, each a package imported on first use.

``PROVIDER_NAMES`` is the one list of providers. Each name is a runtime package
``chalicelib.providers.<name>`` (what the Lambdas run, its ``PROVIDER``) and a tooling module
``providers_tooling.<name>`` outside the Lambda package (signer, samples, local secret, leak
patterns); devstack, ops, the tests and the leak check loop over this list. Importing lazily keeps
the cold start of every Lambda free of what only one provider needs (PayPal's certificate checks
pull in ``cryptography``). Adding a provider means adding its two halves and its name below.
"""

from __future__ import annotations

import importlib

from chalicelib.providers.contract import Provider

PROVIDER_NAMES: tuple[str, ...] = (
    "stripe",
    "square",
    "paypal",
    "adyen",
    "standard",
    "gocardless",
    "razorpay",
)
_KNOWN = frozenset(PROVIDER_NAMES)

_loaded: dict[str, Provider] = {}


def get_provider(name: str) -> Provider:
    """The provider called ``name``; ``KeyError`` for a name that is not registered."""
    provider = _loaded.get(name)
    if provider is None:
        if name not in _KNOWN:
            raise KeyError(name)
        module = importlib.import_module(f"{__name__}.{name}")
        provider = module.PROVIDER
        _loaded[name] = provider
    return provider


def known_providers() -> frozenset[str]:
    return _KNOWN
