"""The tooling half of every provider, found through the runtime registry's one list of names.

``providers_tooling.<name>`` holds what development and tests need for provider ``<name>``
(:class:`~providers_tooling.contract.ProviderTooling`): the sender's signer, the sample catalog
and life cycle, the local stack's secret, the test secrets and leak patterns. It lives outside
``chalicelib/`` so it never ships in the Lambda package. devstack, ``ops``, the tests and the leak
check loop over :func:`all_tooling` instead of keeping their own provider lists.
"""

from __future__ import annotations

import importlib

from chalicelib.providers import PROVIDER_NAMES
from providers_tooling.contract import ProviderTooling

_loaded: dict[str, ProviderTooling] = {}


def tooling(name: str) -> ProviderTooling:
    """The tooling of provider ``name``; ``KeyError`` for a name that is not registered."""
    found = _loaded.get(name)
    if found is None:
        if name not in PROVIDER_NAMES:
            raise KeyError(name)
        found = _loaded[name] = importlib.import_module(f"{__name__}.{name}").TOOLING
    return found


def all_tooling() -> list[ProviderTooling]:
    """Every registered provider's tooling, in the registry's order."""
    return [tooling(name) for name in PROVIDER_NAMES]
