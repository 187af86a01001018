"""The sources configuration: names the URL can reach, problems without values, 503 for a broken entry."""

from __future__ import annotations

import json
from typing import Any

import pytest

from chalicelib.errors import ConfigurationError, SourceMisconfigured
from chalicelib.ingest import declares_too_large
from chalicelib.sources import SOURCE_NAME, SourceRegistry, SourceTable, parse_source

SECRET = "whsec_value_that_must_never_be_logged"


class FakeSecrets:
    """A Secrets Manager stand-in holding one document (the registry only reads it)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def get_secret_value(self, SecretId: str) -> dict[str, str]:  # noqa: N803 (boto3's name)
        return {"SecretString": json.dumps(self.document)}


@pytest.mark.parametrize("name", ["stripe", "stripe-eu", "a", "0_x", "a" * 64])
def test_reachable_names(name: str) -> None:
    assert SOURCE_NAME.fullmatch(name)
    assert parse_source(name, {"provider": "stripe", "secrets": [SECRET]}).name == name


@pytest.mark.parametrize(
    "name", ["stripe\n", "Stripe", "-stripe", "_", "stripe.eu", "a" * 65, "", "strípe", "stripe eu"]
)
def test_a_name_the_url_cannot_reach_is_a_configuration_error_that_does_not_echo_it(name: str) -> None:
    assert not SOURCE_NAME.fullmatch(name)  # fullmatch: "^...$" with match admitted "stripe\n"
    with pytest.raises(ConfigurationError) as raised:
        parse_source(name, {"provider": "stripe", "secrets": [SECRET]})
    assert str(raised.value) == (
        "a source name must be 1-64 of a-z, 0-9, '_' and '-', starting with a letter or digit"
    )


@pytest.mark.parametrize(
    "entry",
    [
        {"provider": SECRET, "secrets": ["x"]},
        {"provider": ["stripe", SECRET], "secrets": ["x"]},
        {"secrets": SECRET},
        {"secrets": [SECRET, 5]},
        {"secrets": ["x"], "toleranceSeconds": SECRET},
        SECRET,
    ],
)
def test_the_invalid_configuration_line_never_echoes_field_values(
    entry: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    entries = {"stripe": entry, "stripe-eu": {"provider": "stripe", "secrets": ["y"]}}
    table = SourceTable.from_document({"sources": entries})

    [line] = [json.loads(text) for text in capsys.readouterr().out.splitlines()]
    assert line["message"] == "source configuration invalid" and line["source"] == "stripe"
    assert line["fault"] == "configuration" and line["problem"].startswith("source 'stripe': ")
    assert SECRET not in json.dumps(line)
    assert set(table.sources) == {"stripe-eu"} and set(table.broken) == {"stripe"}


def test_a_broken_entry_answers_503_naming_its_problem_and_others_still_work() -> None:
    registry = SourceRegistry(
        FakeSecrets({"sources": {"stripe": {"provider": "nope", "secrets": ["x"]}, "square": {"secrets": ["k"]}}}),
        "secret-id",
        ttl_seconds=60,
    )

    with pytest.raises(SourceMisconfigured) as raised:
        registry.get("stripe")
    assert raised.value.status == 503 and raised.value.code == "temporarily_unavailable"
    assert raised.value.problem == "source 'stripe': 'provider' is not a registered provider"
    assert registry.get("square") is not None and registry.get("missing") is None


@pytest.mark.parametrize(
    ("declared", "too_large"),
    [("", False), ("100", False), ("1001", True), ("0001000", False), ("²", False), ("١٠٠٠٠", False),
     ("-5", False), (" 2000", False), ("9" * 5000, True), ("0" * 5000, False), ("0" * 5000 + "1001", True)],
)
def test_declared_content_length_is_ascii_digits_only(declared: str, too_large: bool) -> None:
    assert declares_too_large(declared, 1000) is too_large
