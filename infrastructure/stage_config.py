"""One stage's deployment settings, from the two places they live.

``.chalice/config.json`` owns what the Lambdas see (timeouts, memory, environment, log retention):
the stack reads it rather than repeating it, so the queue's redrive count and visibility timeout
can never drift from ``MAX_RECEIVES`` and the processor's timeout. ``cdk.json`` (context key
``payment-webhooks:stages``) owns what only the infrastructure needs: WAF and API Gateway limits,
provider source ranges, alert subscribers, concurrency, data retention, the table's capacity mode.

Nothing here imports the CDK: the operator CLI (``ops``) reads the same settings, so that what it
sets on a Chalice-deployed stage is what the stack deploys.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from infrastructure.names import AUDITOR, FUNCTIONS, PROCESSOR, StageNames

REPO_ROOT = Path(__file__).resolve().parent.parent
CHALICE_CONFIG = REPO_ROOT / ".chalice" / "config.json"
CONTEXT_KEY = "payment-webhooks:stages"

WAF_EVALUATION_WINDOWS = (60, 120, 300, 600)
"""The only evaluation windows (seconds) a WAF rate-based rule accepts."""
WAF_MIN_RATE_LIMIT = 10
"""AWS WAF's smallest rate limit (requests per evaluation window)."""
PROCESSOR_VISIBILITY_FACTOR = 6
"""AWS's guidance: an SQS event source's visibility timeout is at least 6x the function timeout."""
SQS_MAXIMUM_CONCURRENCY_RANGE = (2, 1000)
"""What Lambda accepts as an SQS event source's ``ScalingConfig.MaximumConcurrency``."""
CDK_JSON = Path(__file__).resolve().parent / "cdk.json"
API_GATEWAY_ACCOUNT_RATE = 10_000
API_GATEWAY_ACCOUNT_BURST = 5_000
"""API Gateway's default throttle per account and region (most regions; 2,500 / 1,250 in some),
shared by every API of the account (docs.aws.amazon.com/apigateway/latest/developerguide/limits.html,
read 2026-12-01). A stage limit above it is never reached; docs/PERFORMANCE.md, "Scale ceiling"."""


DYNAMODB_TABLE_CAPACITY_QUOTA = 40_000
"""DynamoDB's default per-table quota of provisioned read and of write capacity units (and the
on-demand table's request units), per region (docs.aws.amazon.com/amazondynamodb/latest/developerguide/
Limits.html, read 2026-12-01). Auto scaling cannot provision above it, so a ``maxWrite`` beyond it
would only look like headroom."""
TARGET_UTILIZATION_RANGE = (20, 90)
"""The target utilization (percent) DynamoDB auto scaling accepts for reads and writes
(docs.aws.amazon.com/amazondynamodb/latest/developerguide/AutoScaling.html)."""
DEFAULT_TARGET_UTILIZATION = 70
"""What the DynamoDB console proposes when a table is switched to provisioned. The cost model prices
provisioned capacity at it (bench/cost.py), since both stages ship on demand."""
CAPACITY_KEYS = frozenset({"mode", "minWrite", "maxWrite", "minRead", "maxRead", "targetUtilization"})


class StageConfigError(ValueError):
    """The stage's settings are missing or invalid: synthesis stops before building anything."""


def cdk_json_context(path: Path = CDK_JSON) -> dict[str, Any]:
    """The ``context`` of cdk.json. The CDK CLI passes it in itself; running the app directly
    (``make synth``, the tests, ``python -m ops``) does not, so they read it as their defaults."""
    with path.open() as handle:
        context: dict[str, Any] = json.load(handle).get("context", {})
    return context


@dataclass(frozen=True)
class WafRateLimit:
    """A WAF rate-based rule: at most ``limit`` requests from one IP per evaluation window.

    It is *not* a per-second rate: ``limit=300, evaluation_window_seconds=300`` lets one IP send 300
    requests in any 5-minute window (1 per second on average, but all 300 in one burst too).
    """

    limit: int
    evaluation_window_seconds: int

    def __post_init__(self) -> None:
        if self.evaluation_window_seconds not in WAF_EVALUATION_WINDOWS:
            raise StageConfigError(
                f"WAF evaluation window must be one of {WAF_EVALUATION_WINDOWS} s, "
                f"not {self.evaluation_window_seconds}"
            )
        if not WAF_MIN_RATE_LIMIT <= self.limit <= 2_000_000_000:
            raise StageConfigError(f"WAF rate limit must be >= {WAF_MIN_RATE_LIMIT} requests per window")


@dataclass(frozen=True)
class ApiThrottle:
    """API Gateway stage throttling, for all clients together (a token bucket).

    ``rate_limit``: requests per second, sustained. ``burst_limit``: requests that may arrive at
    once (the bucket's size). Above either, API Gateway answers 429 and providers retry later.
    """

    rate_limit: float
    burst_limit: int

    def __post_init__(self) -> None:
        if self.rate_limit <= 0 or self.burst_limit <= 0:
            raise StageConfigError("API throttling rate and burst must be positive")
        if self.rate_limit > API_GATEWAY_ACCOUNT_RATE or self.burst_limit > API_GATEWAY_ACCOUNT_BURST:
            # A stage limit above the account's is a ceiling that looks raised and is not.
            raise StageConfigError(
                f"apiThrottle above the account's default ({API_GATEWAY_ACCOUNT_RATE} rps, burst "
                f"{API_GATEWAY_ACCOUNT_BURST}): raise the account quota first, then this"
            )


@dataclass(frozen=True)
class XraySampling:
    """The stage's X-Ray sampling rule for the API (``AWS::XRay::SamplingRule``): every second the
    first ``reservoir_per_second`` requests are traced, then ``fixed_rate`` (0..1) of the rest.

    API Gateway makes the decision and the receiver's trace follows it; the processor's and the
    audit's invocations (SQS and stream triggers) are sampled by Lambda itself, which no rule
    changes (1 per second and 5 % of the rest).
    """

    fixed_rate: float
    reservoir_per_second: int

    def __post_init__(self) -> None:
        if not 0.0 <= self.fixed_rate <= 1.0:
            raise StageConfigError(f"xraySampling.fixedRate must be from 0 to 1, not {self.fixed_rate}")
        if self.reservoir_per_second < 0:
            raise StageConfigError("xraySampling.reservoirPerSecond must be >= 0")


@dataclass(frozen=True)
class OnDemandCapacity:
    """``tableCapacity: {"mode": "on-demand"}``: pay per request, no capacity to plan (the default).

    Webhook traffic is bursty, and on demand takes up to twice the table's previous peak at once;
    a throttled write is a 5xx the provider retries, so a burst beyond that is delayed, not lost.
    """

    mode: Literal["on-demand"] = "on-demand"


@dataclass(frozen=True)
class ProvisionedCapacity:
    """``tableCapacity: {"mode": "provisioned", ...}``: capacity paid by the hour, which Application
    Auto Scaling moves so that what is consumed stays near ``target_utilization`` percent of it,
    between the floors and ceilings given (units per second: a write unit is 1 KB written, a read unit one
    strongly consistent read of up to 4 KB). Cheaper at a sustained rate; a burst above the
    provisioned capacity is throttled until auto scaling catches up (minutes).
    """

    min_write: int
    max_write: int
    min_read: int
    max_read: int
    target_utilization: float
    """Percent of the provisioned capacity that auto scaling aims to see consumed."""
    mode: Literal["provisioned"] = "provisioned"

    def __post_init__(self) -> None:
        for name, low, high in (("Write", self.min_write, self.max_write), ("Read", self.min_read, self.max_read)):
            if not 1 <= low <= high <= DYNAMODB_TABLE_CAPACITY_QUOTA:
                raise StageConfigError(
                    f"tableCapacity: need 1 <= min{name} ({low}) <= max{name} ({high}) <= "
                    f"{DYNAMODB_TABLE_CAPACITY_QUOTA} (DynamoDB's default table quota: raise it first, then this)"
                )
        low, high = TARGET_UTILIZATION_RANGE
        if not low <= self.target_utilization <= high:
            raise StageConfigError(
                f"tableCapacity.targetUtilization must be a percentage from {low} to {high} (what DynamoDB "
                f"auto scaling accepts), not {self.target_utilization}"
            )


TableCapacity = OnDemandCapacity | ProvisionedCapacity


@dataclass(frozen=True)
class FunctionConfig:
    """What ``.chalice/config.json`` says about one function in one stage."""

    timeout_seconds: int
    memory_mb: int
    log_retention_days: int


@dataclass(frozen=True)
class StageConfig:
    stage: str
    names: StageNames
    environment: Mapping[str, str]
    """The stage's ``environment_variables`` in ``.chalice/config.json``."""
    functions: Mapping[str, FunctionConfig]
    log_retention_days: int
    """The stage's default log retention, also used for API access logs and WAF logs."""
    waf_rate_limit: WafRateLimit
    api_throttle: ApiThrottle
    xray_sampling: XraySampling
    provider_source_cidrs: tuple[str, ...]
    """Provider webhook source ranges (IPv4 CIDR): exempt from the per-IP rate rule."""
    alert_email: str | None
    processor_max_concurrency: int
    """The SQS event source's ``ScalingConfig.MaximumConcurrency``: at most this many processor
    instances at once, so a backlog cannot take the account's concurrency from the receiver."""
    alert_endpoint: str | None = None
    """An HTTPS endpoint subscribed to the alerts topic (an incident tool's SNS integration URL)."""
    require_alert_subscriber: bool = False
    """Refuse to synthesize without ``alert_email`` or ``alert_endpoint`` (prod): alarms that
    reach no one are worse than none, because they look like monitoring."""
    reserved_concurrency: Mapping[str, int] = field(default_factory=dict)
    """Per function name; absent means none reserved (the default: see the README)."""
    retain_data: bool = False
    """Keep the table, key and secret when the stack is deleted, and protect the table."""
    manage_api_gateway_account: bool = True
    """Set the region's API Gateway CloudWatch role (needed for access logs); one stack per
    account and region should own it."""
    table_capacity: TableCapacity = field(default_factory=OnDemandCapacity)
    """The webhook table's capacity mode (``tableCapacity``; docs/DEPLOYING.md)."""

    @property
    def has_alert_subscriber(self) -> bool:
        return bool(self.alert_email or self.alert_endpoint)

    @property
    def max_receives(self) -> int:
        """The processing queue's ``maxReceiveCount``: the processor's ``MAX_RECEIVES``."""
        return int(self.environment["MAX_RECEIVES"])

    @property
    def processor_visibility_timeout_seconds(self) -> int:
        return PROCESSOR_VISIBILITY_FACTOR * self.functions[PROCESSOR.name].timeout_seconds

    @property
    def resend_after_seconds(self) -> int:
        return int(self.environment["RESEND_AFTER_SECONDS"])

    @property
    def audit_log_retention_days(self) -> int:
        return self.functions[AUDITOR.name].log_retention_days


def load_chalice_config(path: Path = CHALICE_CONFIG) -> dict[str, Any]:
    with path.open() as handle:
        config: dict[str, Any] = json.load(handle)
    return config


def _function_configs(chalice_stage: Mapping[str, Any]) -> dict[str, FunctionConfig]:
    per_function = chalice_stage.get("lambda_functions", {})
    configs: dict[str, FunctionConfig] = {}
    for function in FUNCTIONS:
        entry = per_function.get(function.name, {})
        try:
            configs[function.name] = FunctionConfig(
                timeout_seconds=int(entry["lambda_timeout"]),
                memory_mb=int(entry["lambda_memory_size"]),
                log_retention_days=int(
                    entry.get("log_retention_in_days") or chalice_stage["log_retention_in_days"]
                ),
            )
        except KeyError as missing:
            raise StageConfigError(
                f".chalice/config.json: {function.name} needs {missing} in this stage"
            ) from None
    return configs


def _optional_email(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or "@" not in value:
        raise StageConfigError(f"alertEmail must be an e-mail address, not {value!r}")
    return value


def _optional_https_url(value: Any) -> str | None:
    if value in (None, ""):
        return None
    if not isinstance(value, str) or not value.startswith("https://") or " " in value:
        raise StageConfigError(f"alertEndpoint must be an https:// URL, not {value!r}")
    return value


def _processor_max_concurrency(infra: Mapping[str, Any], reserved: Mapping[str, int]) -> int:
    value = infra.get("processorMaximumConcurrency")
    low, high = SQS_MAXIMUM_CONCURRENCY_RANGE
    if not isinstance(value, int) or not low <= value <= high:
        raise StageConfigError(
            f"processorMaximumConcurrency must be an integer from {low} to {high} "
            f"(SQS event source limits), not {value!r}"
        )
    reserved_executions = reserved.get(PROCESSOR.name)
    if reserved_executions is not None and reserved_executions < value:
        # Lambda's guidance: above the reserved concurrency, the mapping's extra pollers only get
        # throttled, and throttled SQS batches go back to the queue and count as receives.
        raise StageConfigError(
            f"processorMaximumConcurrency ({value}) must not exceed the processor's "
            f"reservedConcurrency ({reserved_executions})"
        )
    return value


def _capacity_units(stage: str, settings: Mapping[str, Any], key: str) -> int:
    value = settings.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise StageConfigError(f"{CONTEXT_KEY}.{stage}.tableCapacity.{key} must be a whole number of units, "
                               f"not {value!r}")
    return value


def _table_capacity(stage: str, value: Any) -> TableCapacity:
    """``tableCapacity``: absent means on demand. Every key is checked, so a misspelt one fails the
    synthesis instead of leaving the table in a mode nobody chose."""
    if value is None:
        return OnDemandCapacity()
    where = f"{CONTEXT_KEY}.{stage}.tableCapacity"
    if not isinstance(value, Mapping):
        raise StageConfigError(f'{where} must be an object such as {{"mode": "on-demand"}}, not {value!r}')
    unknown = sorted(set(value) - CAPACITY_KEYS)
    if unknown:
        raise StageConfigError(f"{where}: unknown keys {unknown} (known: {sorted(CAPACITY_KEYS)})")
    mode = value.get("mode")
    if mode == "on-demand":
        extra = sorted(set(value) - {"mode"})
        if extra:
            raise StageConfigError(f'{where}: {extra} apply to "mode": "provisioned" only')
        return OnDemandCapacity()
    if mode != "provisioned":
        raise StageConfigError(f'{where}.mode must be "on-demand" or "provisioned", not {mode!r}')
    missing = sorted(CAPACITY_KEYS - set(value))
    if missing:
        raise StageConfigError(f'{where}: "mode": "provisioned" needs {missing}')
    target = value["targetUtilization"]
    if isinstance(target, bool) or not isinstance(target, int | float):
        raise StageConfigError(f"{where}.targetUtilization must be a percentage, not {target!r}")
    return ProvisionedCapacity(
        min_write=_capacity_units(stage, value, "minWrite"),
        max_write=_capacity_units(stage, value, "maxWrite"),
        min_read=_capacity_units(stage, value, "minRead"),
        max_read=_capacity_units(stage, value, "maxRead"),
        target_utilization=float(target),
    )


def _check_alert_subscriber(stage: str, required: bool, email: str | None, endpoint: str | None) -> None:
    if required and not (email or endpoint):
        raise StageConfigError(
            f"stage {stage} needs an alert subscriber, or its alarms reach no one: set alertEmail "
            f"(an e-mail address) or alertEndpoint (an https:// URL) under {CONTEXT_KEY}.{stage} "
            "in infrastructure/cdk.json, or pass -c alertEmail=... / -c alertEndpoint=..."
        )


def _check_names(names: StageNames, environment: Mapping[str, str]) -> None:
    """The stack names resources by one scheme; config.json must point the app at those names."""
    expected = {
        "STAGE": names.stage,
        "WEBHOOK_TABLE_NAME": names.table,
        "PROCESSING_QUEUE_NAME": names.processing_queue,
        "SOURCES_SECRET_ID": names.sources_secret,
    }
    for variable, value in expected.items():
        if environment.get(variable) != value:
            raise StageConfigError(
                f".chalice/config.json stage {names.stage}: {variable} must be {value!r}, "
                f"not {environment.get(variable)!r}"
            )


def stage_config(
    stage: str,
    context: Mapping[str, Any],
    chalice_config: Mapping[str, Any] | None = None,
    *,
    check_alert_subscriber: bool = True,
) -> StageConfig:
    """Build a stage's settings from CDK context and ``.chalice/config.json``.

    ``context`` is the app's context: the per-stage block under ``payment-webhooks:stages`` plus
    top-level overrides a deployer passes on the command line (``-c alertEmail=...``).
    ``check_alert_subscriber=False`` is for tools that only read settings (``ops``), never for a
    synthesis.
    """
    chalice = chalice_config if chalice_config is not None else load_chalice_config()
    stages = context.get(CONTEXT_KEY) or {}
    if stage not in stages or stage not in chalice.get("stages", {}):
        raise StageConfigError(
            f"unknown stage {stage!r}: pass -c stage=<one of {sorted(stages)}>; it must be a stage "
            "in both cdk.json and .chalice/config.json"
        )
    infra: Mapping[str, Any] = stages[stage]
    chalice_stage: Mapping[str, Any] = chalice["stages"][stage]
    rate = infra["wafRateLimit"]
    throttle = infra["apiThrottle"]
    sampling = infra.get("xraySampling")
    if not isinstance(sampling, Mapping) or not {"fixedRate", "reservoirPerSecond"} <= set(sampling):
        raise StageConfigError(
            f"{CONTEXT_KEY}.{stage}.xraySampling needs fixedRate (0..1) and reservoirPerSecond"
        )
    reserved = infra.get("reservedConcurrency") or {}
    unknown = set(reserved) - {function.name for function in FUNCTIONS}
    if unknown:
        raise StageConfigError(f"reservedConcurrency names unknown functions: {sorted(unknown)}")
    email = _optional_email(context.get("alertEmail", infra.get("alertEmail")))
    endpoint = _optional_https_url(context.get("alertEndpoint", infra.get("alertEndpoint")))
    require_subscriber = bool(infra.get("requireAlertSubscriber", False))
    if check_alert_subscriber:
        _check_alert_subscriber(stage, require_subscriber, email, endpoint)
    reserved_executions = {name: int(value) for name, value in reserved.items()}
    names = StageNames(stage)
    environment = dict(chalice_stage["environment_variables"])
    _check_names(names, environment)
    return StageConfig(
        stage=stage,
        names=names,
        environment=environment,
        functions=_function_configs(chalice_stage),
        log_retention_days=int(chalice_stage["log_retention_in_days"]),
        waf_rate_limit=WafRateLimit(
            limit=int(rate["limit"]), evaluation_window_seconds=int(rate["evaluationWindowSeconds"])
        ),
        api_throttle=ApiThrottle(
            rate_limit=float(throttle["rateLimitPerSecond"]), burst_limit=int(throttle["burstLimit"])
        ),
        xray_sampling=XraySampling(
            fixed_rate=float(sampling["fixedRate"]), reservoir_per_second=int(sampling["reservoirPerSecond"])
        ),
        provider_source_cidrs=tuple(infra.get("providerSourceCidrs") or ()),
        alert_email=email,
        processor_max_concurrency=_processor_max_concurrency(infra, reserved_executions),
        alert_endpoint=endpoint,
        require_alert_subscriber=require_subscriber,
        reserved_concurrency=reserved_executions,
        retain_data=bool(infra.get("retainData", False)),
        manage_api_gateway_account=bool(infra.get("manageApiGatewayAccount", True)),
        table_capacity=_table_capacity(stage, infra.get("tableCapacity")),
    )
