"""The provider registry: every registered provider has its runtime half, its tooling half and samples."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

from chalicelib.providers import PROVIDER_NAMES, get_provider, known_providers
from chalicelib.providers.contract import Acknowledgement
from ops import samples as catalog
from providers_tooling import all_tooling, tooling


def test_names_are_unique_and_known() -> None:
    assert len(set(PROVIDER_NAMES)) == len(PROVIDER_NAMES)
    assert known_providers() == frozenset(PROVIDER_NAMES)


@pytest.mark.parametrize("name", PROVIDER_NAMES)
def test_every_provider_has_a_runtime_half(name: str) -> None:
    # GIVEN a registered name WHEN its runtime package is loaded
    provider = get_provider(name)

    # THEN it is chalicelib.providers.<name>.PROVIDER and offers the whole contract
    assert provider is importlib.import_module(f"chalicelib.providers.{name}").PROVIDER
    assert provider.name == name
    assert callable(provider.verify) and callable(provider.normalize)
    assert isinstance(provider.signature_headers, tuple)
    assert all(header == header.lower() and header for header in provider.signature_headers)
    assert provider.acknowledgement is None or isinstance(provider.acknowledgement, Acknowledgement)
    assert all(isinstance(option, str) and isinstance(meaning, str) and meaning
               for option, meaning in provider.options.items())


@pytest.mark.parametrize("name", PROVIDER_NAMES)
def test_every_provider_has_a_tooling_half_with_samples(name: str) -> None:
    # GIVEN a registered name WHEN its tooling half is loaded
    half = tooling(name)

    # THEN it is providers_tooling.<name>.TOOLING, with samples in the catalog, a signer and a
    # local secret
    assert half is importlib.import_module(f"providers_tooling.{name}").TOOLING
    assert half.name == name
    assert half.samples and all(sample.provider == name for sample in half.samples)
    assert catalog.sample_names(name) == [sample.name for sample in half.samples]
    assert callable(half.sign) and callable(half.new_payment_id)
    assert half.local_secret.variable.isupper() and half.local_secret.generate()
    assert set(half.lifecycle) <= set(catalog.sample_names(name))


def test_the_tooling_loops_over_the_registry_alone() -> None:
    assert [half.name for half in all_tooling()] == list(PROVIDER_NAMES)
    assert catalog.providers() == list(PROVIDER_NAMES)


def test_unregistered_names_are_refused() -> None:
    for lookup in (get_provider, tooling):
        with pytest.raises(KeyError):
            lookup("base")  # a module name that must never be taken for a provider


def test_the_receiver_path_imports_no_normalizer_and_no_tooling() -> None:
    # GIVEN a fresh interpreter WHEN every provider is loaded as the receiver loads them
    code = (
        "import sys; from chalicelib.providers import PROVIDER_NAMES, get_provider; "
        "[get_provider(n) for n in PROVIDER_NAMES]; "
        "print(sorted(m for m in sys.modules if m.endswith('.normalize') or m.startswith('providers_tooling')"
        " or m == 'chalicelib.payments.model'))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)

    # THEN no normalizer, payment model or tooling module was imported (cold start)
    assert result.stdout.strip() == "[]"


def test_the_published_event_schema_names_every_registered_provider() -> None:
    # The PaymentEvent schema is a contract consumers validate against: a provider the gateway
    # publishes events for must be in it (docs/payment-event.v1.schema.json).
    from tests.unit.payments.schema import SCHEMA_PATH

    schema = json.loads(SCHEMA_PATH.read_text())
    assert schema["properties"]["provider"]["enum"] == list(PROVIDER_NAMES)
