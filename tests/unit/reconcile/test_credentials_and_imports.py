"""API credentials parsing, the local stripe source's API settings, and the receiver's cold start."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from chalicelib.errors import ConfigurationError
from chalicelib.providers.contract import SourceConfig
from chalicelib.reconcile.credentials import ApiCredentials, api_credentials


def source(api: object, stage: str = "prod") -> SourceConfig:
    return SourceConfig(name="stripe", provider="stripe", secrets=("whsec_x",), options={"api": api}, stage=stage)


def test_a_source_without_api_has_no_credentials() -> None:
    assert api_credentials(SourceConfig(name="stripe", provider="stripe", secrets=("whsec_x",))) is None


def test_credentials_are_read_and_the_key_never_shows_in_repr() -> None:
    credentials = api_credentials(source({"key": "rk_live_secretvalue", "account": "acct_1"}))
    assert credentials == ApiCredentials(key="rk_live_secretvalue", account="acct_1")
    assert "rk_live_secretvalue" not in repr(credentials)
    assert credentials.base("https://api.stripe.com") == "https://api.stripe.com"


@pytest.mark.parametrize("api", [
    "rk_live_x", {"key": ""}, {"key": 3}, {}, {"key": "k", "unknown": "x"}, {"clientId": "only-the-id"},
    {"key": "k", "baseUrl": "http://api.example.com"},  # plain http outside the local stage
    {"key": "k", "baseUrl": "ftp://api.example.com"},
])
def test_a_malformed_api_object_is_refused_without_echoing_values(api: object) -> None:
    with pytest.raises(ConfigurationError) as raised:
        api_credentials(source(api))
    assert "rk_live_x" not in str(raised.value) and "only-the-id" not in str(raised.value)


def test_plain_http_is_allowed_in_the_local_stage_only() -> None:
    assert api_credentials(source({"key": "k", "baseUrl": "http://127.0.0.1:8420"}, stage="local")) is not None


def test_the_local_stripe_source_takes_its_api_from_the_environment() -> None:
    from providers_tooling.stripe import local_source

    stack: Any = None  # the stripe entry needs nothing from the running stack
    assert local_source("whsec_a", stack, {}) == {"secrets": ["whsec_a"]}
    assert local_source("whsec_a", stack, {"STRIPE_API_KEY": "sk_test_1"}) == {
        "secrets": ["whsec_a"], "api": {"key": "sk_test_1"},
    }
    environ = {"STRIPE_API_KEY": "sk_test_1", "STRIPE_API_BASE": "http://127.0.0.1:8420"}
    assert local_source("whsec_a", stack, environ)["api"] == {
        "key": "sk_test_1", "baseUrl": "http://127.0.0.1:8420",
    }


def test_the_receivers_cold_start_imports_no_reconciler_nor_provider_api_client() -> None:
    # GIVEN a fresh interpreter that loads the app and every provider, as the receiver does
    code = (
        "import sys, app; from chalicelib import receiver; "
        "from chalicelib.providers import PROVIDER_NAMES, get_provider; [get_provider(n) for n in PROVIDER_NAMES]; "
        "print(sorted(m for m in sys.modules if m.startswith('chalicelib.reconcile') or m.endswith('.events_api')))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    # THEN none of the reconciler's modules was imported
    assert result.stdout.strip().splitlines()[-1] == "[]"
