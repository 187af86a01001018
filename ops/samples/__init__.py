"""The sample catalog: realistic events for every provider, in each provider's documented shape.

Each provider's samples live in its tooling half (``providers_tooling/<name>/samples.py``); this
module gathers them over the provider registry.

Like ``stripe trigger``, for every provider: ``python -m ops send SOURCE EVENT_TYPE`` builds one of
these, signs it as the provider would and posts it. The payloads follow the providers' published
examples and API references, and keep the links a real payload carries, on which payment
normalization is built (each provider's ``samples.py`` says which).

Samples are parametric (:class:`SampleOptions`): one ``payment_id`` sent through several event types
gives one payment's life cycle, because every related id (charge, order, capture, refund, dispute,
modification references) is derived from the payment id deterministically. Amounts are given in
minor units (a provider that writes decimal strings, like PayPal, derives them). The catalog key
is the provider's event type, with a ``:variant`` suffix where one type has several outcomes
(``payment.updated:failed``, ``AUTHORISATION:refused``).
"""

from __future__ import annotations

from providers_tooling import all_tooling
from providers_tooling.samples import (
    BuiltEvent,
    Context,
    Document,
    Sample,
    SampleOptions,
    UnknownSample,
)

__all__ = [
    "CATALOG", "LIFECYCLES", "BuiltEvent", "Document", "Sample", "SampleOptions", "UnknownSample",
    "build", "find_sample", "providers", "sample_names",
]

_TOOLING = {tooling.name: tooling for tooling in all_tooling()}
CATALOG: dict[str, dict[str, Sample]] = {
    name: {sample.name: sample for sample in tooling.samples} for name, tooling in _TOOLING.items()
}
# One payment's life, in the order it happens, per provider: what `ops lifecycle` sends.
LIFECYCLES: dict[str, tuple[str, ...]] = {
    name: tooling.lifecycle for name, tooling in _TOOLING.items() if tooling.lifecycle
}


def providers() -> list[str]:
    return list(CATALOG)


def sample_names(provider: str) -> list[str]:
    return list(CATALOG.get(provider, {}))


def find_sample(provider: str, name: str) -> Sample:
    samples = CATALOG.get(provider)
    if samples is None:
        raise UnknownSample(f"no samples for provider {provider!r}")
    sample = samples.get(name)
    if sample is None:
        raise UnknownSample(f"unknown event type {name!r} for {provider}; known: {', '.join(samples)}")
    return sample


def build(provider: str, name: str, options: SampleOptions | None = None) -> BuiltEvent:
    """The sample ``name`` of ``provider`` as the provider would send it (before signing)."""
    sample = find_sample(provider, name)
    ctx = Context(provider, options or SampleOptions(), _TOOLING[provider].new_payment_id)
    document, event_id = sample.builder(ctx)
    return BuiltEvent(provider, name, sample.event_type, document, event_id, ctx.payment_id)
