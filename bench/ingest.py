"""Figure 3b: in-process time of the route handler (AWS answered by a stub), p50/p99, against the
bare minimum on the same payloads: verify + parse."""

from __future__ import annotations

import json
import os
import time
import uuid

from bench.stub_aws import StubClient
from bench.timing import percentile
from chalicelib import runtime
from chalicelib.providers import get_provider
from chalicelib.providers.base import SourceConfig
from chalicelib.receiver import handle_webhook
from tests import samples

BUDGET = 2.0


def _deliveries(count: int) -> list[tuple[bytes, dict[str, str]]]:
    return [samples.stripe_delivery(samples.stripe_event(event_id=f"evt_{uuid.uuid4().hex}")) for _ in range(count)]


def run(count: int = 2000) -> list[dict[str, object]]:
    os.environ.update({"AWS_DEFAULT_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench",
                       "PROCESSING_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/stub", "TRACING": "false"})
    os.environ.pop("AWS_ENDPOINT_URL", None)
    runtime.reset()
    services = runtime.services()
    clients = services.aws._clients  # noqa: SLF001 - the benchmark swaps the clients for stubs
    clients["dynamodb"] = StubClient()
    clients["sqs"] = StubClient()
    clients["secretsmanager"] = StubClient({"get_secret_value": {"SecretString": json.dumps({"sources": samples.SOURCES})}})

    provider = get_provider("stripe")
    source = SourceConfig("stripe", "stripe", (samples.STRIPE_SECRET,))
    deliveries = _deliveries(count)
    handle_webhook("stripe", *_deliveries(1)[0], services)  # warm: secret read, lazy imports

    handler_times: list[float] = []
    bare_times: list[float] = []
    for body, headers in deliveries:
        lowered = {k.lower(): v for k, v in headers.items()}
        start = time.perf_counter()
        provider.verify(body, lowered, source, time.time())
        bare_times.append(time.perf_counter() - start)
        start = time.perf_counter()
        response = handle_webhook("stripe", body, headers, services)
        handler_times.append(time.perf_counter() - start)
        assert response.status_code == 200
    runtime.reset()
    rows = []
    for label, fraction in (("p50", 0.5), ("p99", 0.99)):
        ours, bare = percentile(handler_times, fraction), percentile(bare_times, fraction)
        rows.append({
            "figure": f"route handler {label} (AWS stubbed)", "ours_us": round(ours * 1e6, 1),
            "bare_verify_parse_us": round(bare * 1e6, 1), "ratio": round(ours / bare, 2),
            "budget": f"<= {BUDGET}", "met": ours / bare <= BUDGET,
        })
    return rows
