"""Figure 6: dollars per million webhooks, from this run's counts and the dated prices.

Every quantity per webhook is either measured by this run (calls, item sizes, handler time, log
bytes) or an assumption stated next to it (AWS call latency, how Lambda batches, the sampling
rate); :func:`markdown` prints both, with the prices' date. The figure is for a new event, each
processed once, at two steady rates (a million a month, and a hundred a second: the rate changes
what X-Ray samples and how the audit's stream batches fill); fixed monthly costs (keys, secret,
web ACL, alarms, the reconciler's schedule) are listed apart, not spread over webhooks.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from bench import log_cost, prices
from bench.capacity_cost import TableCapacityCost, capacity_details, capacity_markdown
from bench.prices import Line, dollars
from bench.report import Row
from infrastructure import log_settings
from infrastructure.stage_config import DEFAULT_TARGET_UTILIZATION

FIGURE = "6 cost"
ROOT = Path(__file__).resolve().parent.parent
KB = 1024
LAMBDA_MB_PER_VCPU = 1769  # Lambda's CPU share grows with memory: one full vCPU at 1,769 MB
MARKER_WRITE_UNITS = 1.0
"""A dedupe or transmission marker (``seen#...``, ``tx#...``: keys, a digest, expiry) is well under
1 KB: one write unit per conditional put."""
LAMBDA_SAMPLING = (1.0, 0.05)
"""What Lambda samples of SQS- and stream-triggered invocations (reservoir per second, then rate):
no sampling rule applies to them."""
PROD_SAMPLING = (1.0, 0.01)
DEV_SAMPLING = (1.0, 1.0)
"""The stages' API sampling rules (infrastructure/cdk.json ``xraySampling``: reservoir, fixedRate)."""
RECONCILE_RUNS_PER_MONTH = 30 * 24 * 4  # every 15 minutes (RECONCILE_RATE_MINUTES)


def traced_share(per_second: float, sampling: tuple[float, float]) -> float:
    """The share of ``per_second`` requests a rule (reservoir per second, then a rate) traces."""
    reservoir, rate = sampling
    if per_second <= 0:
        return 0.0
    return (min(per_second, reservoir) + max(0.0, per_second - reservoir) * rate) / per_second


@dataclass(frozen=True)
class CostInputs:
    # measured by this run
    ingest_calls: dict[str, float]
    """AWS calls of the route per new event, by operation."""
    processing_calls: dict[str, float]
    """AWS calls of the processor per webhook, batches of ten, a new container per batch."""
    webhook_item_bytes: float
    webhook_write_units: float
    """Write units of one webhook record: 1 per KB rounded up, averaged over the providers' items."""
    payment_item_bytes: float
    handler_microseconds: float
    """The route handler's in-process time, p50 (figure 3b)."""
    log_bytes_per_webhook: float
    """Our JSON log lines per webhook, receive and process."""
    audit_log_bytes_per_webhook: float
    """The audit's lines per webhook: its handler run on the processing figure's stream records."""
    read_units_per_webhook: float
    """The processor's read units per webhook (figure 4, a new container every batch)."""
    processor_cpu_ms_per_batch: float
    """The processor's own time per batch of ten outside its AWS calls (figure 4, a warm container)."""
    memory_mb: dict[str, int]
    # assumptions
    call_latency_ms: float = 8.0
    """Round trip of one AWS call from Lambda, in the region (DynamoDB, SQS, SNS): to be replaced by
    X-Ray's figures once deployed."""
    batch_size: float = 10.0
    """Messages per processor invocation (a busy queue fills batches of ten)."""
    audit_invocations_per_webhook: float = 1.0
    """At a low rate each webhook's stream records come in a batch of their own (worst case)."""
    webhooks_per_second: float = 0.4
    """The steady rate: what X-Ray's per-second reservoirs and the stream's batches depend on."""
    api_sampling: tuple[float, float] = PROD_SAMPLING
    """The stage's sampling rule for the API (reservoir per second, fixed rate): prod's by default."""
    label: str = "about one million webhooks a month (0.4 per second)"


def memory_sizes(stage: str = "prod") -> dict[str, int]:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    functions = config["stages"][stage]["lambda_functions"]
    return {name: int(settings["lambda_memory_size"]) for name, settings in functions.items()}


def _lambda_ms(cpu_ms: float, calls: float, inputs: CostInputs, memory_mb: int) -> float:
    """Billed milliseconds (Lambda rounds up to 1 ms): CPU time stretched to the memory's CPU
    share, plus the AWS calls made one after another."""
    return float(math.ceil(cpu_ms * max(1.0, LAMBDA_MB_PER_VCPU / memory_mb) + calls * inputs.call_latency_ms))


def line_items(inputs: CostInputs) -> list[Line]:
    wru_webhook = inputs.webhook_write_units
    wru_payment = math.ceil(inputs.payment_item_bytes / KB)
    ingest_puts = inputs.ingest_calls.get("dynamodb.PutItem", 0.0)
    # One of the ingest path's conditional puts is the record; the others are its markers.
    record_puts = min(ingest_puts, 1.0)
    marker_puts = max(0.0, ingest_puts - record_puts)
    # A new event's message is sent by the outbox (chalicelib/outbox.py), not the receiver: one
    # SendMessage(Batch) per stream batch of up to ten new webhooks, its invocations batched like the
    # audit's on the same stream. The receiver's own sends (measured) are duplicates' re-sends only.
    receiver_sends = (inputs.ingest_calls.get("sqs.SendMessage", 0.0)
                      + inputs.ingest_calls.get("sqs.SendMessageBatch", 0.0))
    enqueue_invocations = inputs.audit_invocations_per_webhook
    enqueue_sends = max(enqueue_invocations, 0.1)
    processing = inputs.processing_calls
    payment_puts = processing.get("dynamodb.PutItem", 0.0)
    finishes = processing.get("dynamodb.UpdateItem", 0.0)
    publishes = processing.get("sns.PublishBatch", 0.0) + processing.get("sns.Publish", 0.0)
    api_calls = sum(inputs.ingest_calls.values())
    batch_calls = sum(processing.values()) * inputs.batch_size
    api_ms = _lambda_ms(inputs.handler_microseconds / 1000, api_calls, inputs, inputs.memory_mb["api_handler"])
    process_ms = _lambda_ms(inputs.processor_cpu_ms_per_batch, batch_calls, inputs,
                            inputs.memory_mb["process_webhooks"])
    audit_ms = 2.0

    def gb_seconds(ms: float, function: str) -> float:
        # The outbox is sized like the audit (.chalice/config.json) where a run does not say.
        memory = inputs.memory_mb.get(function, inputs.memory_mb.get("audit_changes", 256))
        return memory / 1024 * ms / 1000

    return [
        Line("API Gateway", "REST API request", 1, "requests", prices.API_GATEWAY_REST_PER_MILLION, "one per delivery"),
        Line("WAF", "request inspected", 1, "requests", prices.WAF_REQUESTS_PER_MILLION, "one per delivery"),
        Line("Lambda", "receive: invocation", 1, "invocations", prices.LAMBDA_REQUESTS_PER_MILLION, "one per delivery"),
        Line("Lambda", f"receive: {api_ms:.0f} ms at {inputs.memory_mb['api_handler']} MB",
             gb_seconds(api_ms, "api_handler"), "GB-s", prices.LAMBDA_ARM64_GB_SECOND,
             f"model: measured CPU {inputs.handler_microseconds:.0f} µs + {api_calls:g} calls "
             f"x {inputs.call_latency_ms:g} ms"),
        Line("Lambda", "process: invocation", 1 / inputs.batch_size, "invocations", prices.LAMBDA_REQUESTS_PER_MILLION,
             f"model: batches of {inputs.batch_size:g}"),
        Line("Lambda", f"process: {process_ms:.0f} ms per batch at {inputs.memory_mb['process_webhooks']} MB",
             gb_seconds(process_ms, "process_webhooks") / inputs.batch_size, "GB-s", prices.LAMBDA_ARM64_GB_SECOND,
             f"model: measured CPU {inputs.processor_cpu_ms_per_batch:.1f} ms + {batch_calls:.0f} measured calls "
             f"per batch, one after another, x {inputs.call_latency_ms:g} ms"),
        Line("Lambda", "audit: invocations and ~2 ms each", inputs.audit_invocations_per_webhook, "invocations",
             prices.LAMBDA_REQUESTS_PER_MILLION, "model: one stream batch per webhook (low rate)"),
        Line("Lambda", "audit: duration", inputs.audit_invocations_per_webhook * gb_seconds(audit_ms, "audit_changes"),
             "GB-s", prices.LAMBDA_ARM64_GB_SECOND, "model"),
        Line("Lambda", "enqueue (the outbox): invocations and ~2 ms each", enqueue_invocations, "invocations",
             prices.LAMBDA_REQUESTS_PER_MILLION, "model: stream batches as the audit's (filtered: new webhooks only)"),
        Line("Lambda", "enqueue: duration",
             enqueue_invocations * gb_seconds(audit_ms, "enqueue_new_webhooks"),
             "GB-s", prices.LAMBDA_ARM64_GB_SECOND, "model"),
        Line("DynamoDB",
             f"webhook put ({inputs.webhook_item_bytes:.0f} B item, headers included; no index)",
             record_puts * wru_webhook, "WRU", prices.DYNAMODB_WRITE_PER_MILLION, "measured calls and item size"),
        Line("DynamoDB", "dedupe marker (and PayPal's transmission marker), < 1 KB each",
             marker_puts * MARKER_WRITE_UNITS, "WRU", prices.DYNAMODB_WRITE_PER_MILLION,
             "measured calls; model: 1 unit each"),
        Line("DynamoDB", "final update (+ attempt count and history entry)",
             finishes * wru_webhook, "WRU",
             prices.DYNAMODB_WRITE_PER_MILLION, "measured calls and item size"),
        Line("DynamoDB", f"payment write ({inputs.payment_item_bytes:.0f} B item)", payment_puts * wru_payment, "WRU",
             prices.DYNAMODB_WRITE_PER_MILLION, "measured calls and item size"),
        Line("DynamoDB", "consistent reads: the record, and the payment when not cached",
             inputs.read_units_per_webhook, "RRU", prices.DYNAMODB_READ_PER_MILLION,
             "measured: figure 4's reads, item sizes and missing keys (a new container every batch)"),
        Line("SQS", "SendMessage(Batch) by the outbox", enqueue_sends, "requests", prices.SQS_REQUESTS_PER_MILLION,
             "model: one per stream batch, at most ten ids each"),
        Line("SQS", "SendMessage by the receiver (duplicates past the resend delay)", receiver_sends, "requests",
             prices.SQS_REQUESTS_PER_MILLION, "measured"),
        Line("SQS", "Lambda's ReceiveMessage and DeleteMessageBatch", 2 / inputs.batch_size, "requests",
             prices.SQS_REQUESTS_PER_MILLION, f"model: per batch of {inputs.batch_size:g}"),
        Line("SNS", "PublishBatch of payment events (< 64 KB)", publishes, "requests", prices.SNS_PUBLISH_PER_MILLION,
             "measured"),
        xray_line(inputs),
        *log_cost.log_lines(
            inputs.log_bytes_per_webhook, inputs.audit_log_bytes_per_webhook,
            invocations_per_webhook=1 + 1 / inputs.batch_size + inputs.audit_invocations_per_webhook
            + enqueue_invocations,
        ),
    ]


def traces_per_webhook(inputs: CostInputs) -> float:
    """Receive traces follow the API's rule; the processor's batches and the audit's stream batches
    are sampled by Lambda, each at its own invocation rate."""
    rate = inputs.webhooks_per_second
    batches = rate / inputs.batch_size
    audits = rate * inputs.audit_invocations_per_webhook
    return (traced_share(rate, inputs.api_sampling)
            + traced_share(batches, LAMBDA_SAMPLING) / inputs.batch_size
            + traced_share(audits, LAMBDA_SAMPLING) * inputs.audit_invocations_per_webhook)


def xray_line(inputs: CostInputs) -> Line:
    reservoir, rate = inputs.api_sampling
    return Line("X-Ray", "traces recorded (receive, the processor's batch, the audit's)", traces_per_webhook(inputs),
                "traces", prices.XRAY_TRACES_PER_MILLION,
                f"model: API rule {reservoir:g}/s then {rate:.0%}; Lambda's own 1/s then 5 % for the queue and stream")


def table_capacity_cost(inputs: CostInputs, target_utilization: float = DEFAULT_TARGET_UTILIZATION
                        ) -> TableCapacityCost:
    """Both capacity modes for ``inputs``' scenario, from the same lines the main table prices."""
    lines = line_items(inputs)
    requests = tuple(line for line in lines if line.service == "DynamoDB" and line.unit in ("WRU", "RRU"))
    return TableCapacityCost(
        webhooks_per_second=inputs.webhooks_per_second,
        target_utilization=target_utilization,
        write_units_per_webhook=sum(line.units_per_webhook for line in requests if line.unit == "WRU"),
        read_units_per_webhook=sum(line.units_per_webhook for line in requests if line.unit == "RRU"),
        on_demand_lines=requests,
        total_on_demand=sum(line.dollars_per_million for line in lines),
    )


def fixed_monthly(webhooks_per_month: float = 1e6, retention_days: int = 90) -> list[tuple[str, float, str]]:
    """What a deployed stage costs each month whatever the traffic (plus storage, which grows)."""
    return [
        ("KMS: one customer managed key", prices.KMS_KEY_MONTH.dollars, prices.KMS_KEY_MONTH.per),
        ("KMS requests: SQS and SNS reuse data keys for 5 min per principal, DynamoDB caches its table key: "
         "tens of thousands of requests a month at most, not per webhook",
         50_000 / 10_000 * prices.KMS_REQUESTS_PER_10K.dollars, "estimate"),
        ("Secrets Manager: the sources secret, read once a minute per warm container",
         prices.SECRETS_MANAGER_SECRET_MONTH.dollars
         + 43_200 * 4 / 10_000 * prices.SECRETS_MANAGER_CALLS_PER_10K.dollars,
         "1 secret + 4 warm containers"),
        ("WAF: web ACL and its 4 rules", prices.WAF_WEB_ACL_MONTH.dollars + 4 * prices.WAF_RULE_MONTH.dollars, "month"),
        ("SQS: Lambda's long polls of an idle queue (5 pollers, 20 s)",
         5 * 3 * 60 * 24 * 30 / 1e6 * prices.SQS_REQUESTS_PER_MILLION.dollars, "estimate"),
        ("Lambda: the reconciler, every 15 minutes (its provider API calls are the providers'; a few seconds at "
         "256 MB a run)", RECONCILE_RUNS_PER_MONTH * (prices.LAMBDA_REQUESTS_PER_MILLION.dollars / 1e6
                                                     + 0.25 * 3 * prices.LAMBDA_ARM64_GB_SECOND.dollars), "month"),
        ("X-Ray: sampling rule", 0.0, "rules are free; traces are billed per webhook above"),
    ]


def storage_monthly(inputs: CostInputs, webhooks_per_month: float = 1e6, retention_days: int = 90) -> float:
    """DynamoDB storage and point-in-time recovery of the records kept (payments: one per webhook,
    an upper bound), at a steady rate."""
    kept = webhooks_per_month * retention_days / 30
    gigabytes = kept * (inputs.webhook_item_bytes + inputs.payment_item_bytes + 100) / 1e9
    return gigabytes * (prices.DYNAMODB_STORAGE_GB_MONTH.dollars + prices.DYNAMODB_PITR_GB_MONTH.dollars)


def at_scale(inputs: CostInputs) -> CostInputs:
    """The same webhooks at about 100 a second: X-Ray's reservoirs are a small share, stream batches fill up."""
    return replace(inputs, webhooks_per_second=100.0, audit_invocations_per_webhook=0.1,
                   label="about 100 webhooks a second (260 million a month)")


HOSTED_GATEWAYS_AS_OF = "2026-12-01"
HOSTED_GATEWAYS: tuple[tuple[str, str, str], ...] = (
    ("Hookdeck Event Gateway", "Team plan from $39 a month with 10,000 events included, then metered per event "
     "(billed in steps of 10k); Growth from $499 a month; discarded requests $2.50 per million. The per-event "
     "metered rate is on the page's slider, not in the transcription read",
     "https://hookdeck.com/pricing (as transcribed 2026-09-20 in api-evangelist/hookdeck "
     "plans/hookdeck-plans-pricing.yml)"),
    ("Svix", "not found in the reference corpus available here: read the page before comparing", "https://www.svix.com/pricing/"),
    ("Convoy Cloud", "not found in the reference corpus available here (Convoy is also open source, self-hosted)",
     "https://getconvoy.io/pricing"),
)
"""What hosted webhook gateways charge, as far as their public pricing could be read here (dated)."""


def scenario(inputs: CostInputs) -> dict[str, Any]:
    lines = line_items(inputs)
    by_service: dict[str, float] = {}
    for line in lines:
        by_service[line.service] = by_service.get(line.service, 0.0) + line.dollars_per_million
    return {
        "label": inputs.label,
        "inputs": asdict(inputs),
        "lines": [{"service": line.service, "what": line.what, "unitsPerWebhook": line.units_per_webhook,
                   "unit": line.unit, "price": f"{dollars(line.price.dollars)} per {line.price.per}",
                   "dollarsPerMillion": round(line.dollars_per_million, 3), "basis": line.basis} for line in lines],
        "byService": {name: round(amount, 2) for name, amount in sorted(by_service.items(), key=lambda kv: -kv[1])},
        "dollarsPerMillionWebhooks": round(sum(line.dollars_per_million for line in lines), 2),
    }


def run(inputs: CostInputs) -> tuple[list[Row], dict[str, Any]]:
    scenarios = [scenario(inputs), scenario(at_scale(inputs))]
    xray = {
        label: {name: round(xray_line(replace(base, api_sampling=sampling)).dollars_per_million, 2)
                for name, sampling in (("dev (fixedRate 1.0)", DEV_SAMPLING), ("prod (1/s, then 1 %)", PROD_SAMPLING))}
        for label, base in (("0.4 per second", inputs), ("100 per second", at_scale(inputs)))
    }
    capacity = table_capacity_cost(at_scale(inputs))
    details = {
        "tableCapacity": capacity_details(capacity),
        "xrayBySampling": xray,
        "hostedGateways": {"asOf": HOSTED_GATEWAYS_AS_OF,
                           "rows": [{"gateway": g, "price": p, "source": u} for g, p, u in HOSTED_GATEWAYS]},
        "pricesAsOf": prices.PRICES_AS_OF, "region": prices.REGION, "scenarios": scenarios,
        "fixedMonthly": [{"what": what, "dollars": round(amount, 2), "basis": basis}
                         for what, amount, basis in fixed_monthly()],
        "storageMonthlyAtOneMillionPerMonth": round(storage_monthly(inputs), 2),
    }
    rows = []
    for result in scenarios:
        biggest = ", ".join(f"{name} ${amount:.2f}" for name, amount in list(result["byService"].items())[:4])
        rows.append(Row(FIGURE, f"dollars per million webhooks at {result['label']}",
                        result["dollarsPerMillionWebhooks"], "$", f"list prices {prices.REGION}, {prices.PRICES_AS_OF}",
                        None, None, "info", None,
                        f"largest: {biggest}; fixed and storage costs apart (docs/PERFORMANCE.md)"))
    # A second, labelled total: the stages ship on demand, so the figures above stay on-demand ones.
    rows.append(Row(FIGURE, f"dollars per million webhooks at {scenarios[1]['label']}, table provisioned "
                    f"(tableCapacity, auto scaling at {capacity.target_utilization:g} %)",
                    round(capacity.total_provisioned, 2), "$", f"list prices {prices.REGION}, {prices.PRICES_AS_OF}",
                    None, None, "info", None,
                    f"DynamoDB ${capacity.dynamodb_provisioned:.2f} instead of ${capacity.dynamodb_on_demand:.2f} on "
                    f"demand: {capacity.write_capacity_units} WCU and {capacity.read_capacity_units} RCU for "
                    f"{capacity.write_units_per_webhook:.2f} WRU and {capacity.read_units_per_webhook:.2f} RRU "
                    "per webhook; not the stages' default (docs/DEPLOYING.md)"))
    return rows, details


def _units(line: dict[str, Any]) -> str:
    if line["unit"] == "GB":
        return f"{line['unitsPerWebhook'] * 1e6:.2f} KB"
    return f"{line['unitsPerWebhook']:.3g} {line['unit']}"


def markdown(details: dict[str, Any]) -> str:
    first, scaled = details["scenarios"]
    inputs = first["inputs"]
    lines = [
        f"#### Cost per million webhooks: ${first['dollarsPerMillionWebhooks']:.2f} at {first['label']}, "
        f"${scaled['dollarsPerMillionWebhooks']:.2f} at {scaled['label']}",
        "",
        f"List prices for {details['region']} as of {details['pricesAsOf']} (`bench/prices.py`; re-check them), "
        "no free tier. A new event, processed once. *Basis* says what this run measured and what is modelled. "
        "The second figure differs only where the rate matters: X-Ray's sampling and how full the audit's stream "
        "batches are.",
        "",
        f"| service | what | units per webhook | price | $ per million ({first['label'].split(' (')[0]}) | "
        f"$ per million ({scaled['label'].split(' (')[0]}) | basis |",
        "| --- | --- | ---: | --- | ---: | ---: | --- |",
    ]
    for line, other in zip(first["lines"], scaled["lines"], strict=True):
        lines.append(f"| {line['service']} | {line['what']} | {_units(line)} | {line['price']} | "
                     f"{line['dollarsPerMillion']:.2f} | {other['dollarsPerMillion']:.2f} | {line['basis']} |")
    lines += [
        f"| **total** | | | | **{first['dollarsPerMillionWebhooks']:.2f}** | "
        f"**{scaled['dollarsPerMillionWebhooks']:.2f}** | |",
        "",
        f"Assumptions: an AWS call takes {inputs['call_latency_ms']:g} ms from Lambda (the client's own work "
        "included); a function's own CPU, measured on one core of this machine, is stretched to its memory's "
        f"CPU share (one vCPU at {LAMBDA_MB_PER_VCPU:,} MB); the processor gets full "
        f"batches of {inputs['batch_size']:g}; at a low rate the audit gets one stream batch per webhook and X-Ray "
        "records every invocation (the API's rule samples the first request each second and "
        f"{PROD_SAMPLING[1]:.0%} of the rest in prod, Lambda's 5 % for the queue and stream). Duplicates add "
        "one conditional put each (a failed condition is billed like the write), plus a send while the first "
        "delivery is still queued. Deliveries from the payment-events topic to its subscribers are theirs to pay "
        "(SNS charges nothing for SQS and Lambda subscribers). Log lines: ours are measured (figure 4's run, "
        "the audit's on its stream records), written as in prod, where Lambda hands every invocation a trace "
        "header, nearly always unsampled; Lambda's START/END/REPORT are counted only where the functions' "
        f"SystemLogLevel ({log_settings.SYSTEM_LOG_LEVEL}) lets INFO through; the audit's group and the API access "
        "log are priced at the Infrequent Access class (infrastructure/log_settings.py, docs/DEPLOYING.md).",
        "",
        *capacity_markdown(details["tableCapacity"]),
        "X-Ray per million webhooks at each stage's sampling rule (the API's rule, `xraySampling` in "
        "infrastructure/cdk.json; the processor's and the audit's invocations are sampled by Lambda either way):",
        "",
        "| rate | " + " | ".join(next(iter(details["xrayBySampling"].values()))) + " |",
        "| --- | " + " | ".join("---:" for _ in next(iter(details["xrayBySampling"].values()))) + " |",
    ]
    lines += [f"| {rate} | " + " | ".join(f"${amount:.2f}" for amount in by_rule.values()) + " |"
              for rate, by_rule in details["xrayBySampling"].items()]
    hosted = details["hostedGateways"]
    lines += [
        "",
        f"Hosted webhook gateways, from their public pricing pages as far as they could be read on {hosted['asOf']} "
        "(they verify and forward; the processing, payment records and audit here are not part of what they sell):",
        "",
        "| gateway | price | source |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {row['gateway']} | {row['price']} | {row['source']} |" for row in hosted["rows"]]
    lines += [
        "",
        "Fixed per month, whatever the traffic:",
        "",
    ]
    lines += [f"- {item['what']}: ${item['dollars']:.2f} ({item['basis']})" for item in details["fixedMonthly"]]
    lines += [f"- DynamoDB storage and point-in-time recovery at one million webhooks a month kept 90 days: "
              f"${details['storageMonthlyAtOneMillionPerMonth']:.2f} a month (grows with the rate)",
              "- CloudWatch alarms and the dashboard: see the CloudWatch price list (a few dollars a month)"]
    return "\n".join(lines)
