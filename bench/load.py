"""A bounded load run against the local stack over HTTP: `make load` (loopback only).

Starts the stack exactly as `make run` does, sends correctly signed events of every provider at a
fixed rate for a fixed time (10% of them delivered twice, as providers do), then waits until every
acknowledged webhook is final and reports acks, acknowledgement latency (p50/p99) and anything
lost. It stops by itself: the rate, the duration and the wait are all bounded.

    python -m bench.load --rate 20 --seconds 60 --record   # the figures in docs/RELIABILITY.md
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.timing import percentile
from chalicelib.providers import PROVIDER_NAMES

REPORT = Path(__file__).resolve().parent.parent / "docs" / "RELIABILITY.md"
BEGIN, END = "<!-- load:begin -->", "<!-- load:end -->"
# Every registered provider, each under the local stack's source of the same name.
SOURCES = PROVIDER_NAMES
DUPLICATE_SHARE = 0.10
MAX_IN_FLIGHT = 16


@dataclass
class LoadResult:
    rate: float
    seconds: float
    sent: int = 0
    duplicates_sent: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    latencies: list[float] = field(default_factory=list)
    acked_ids: set[str] = field(default_factory=set)
    final: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    settle_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def summary(self) -> dict[str, Any]:
        return {
            "target rate (req/s)": self.rate,
            "duration (s)": self.seconds,
            "requests sent": self.sent,
            "of which duplicates": self.duplicates_sent,
            "achieved rate (req/s)": round(self.sent / self.seconds, 1),
            "2xx": sum(n for status, n in self.statuses.items() if 200 <= status < 300),
            "non-2xx": {str(s): n for s, n in sorted(self.statuses.items()) if not 200 <= s < 300},
            "ack latency p50 (ms)": round(percentile(self.latencies, 0.5) * 1000, 1) if self.latencies else None,
            "ack latency p99 (ms)": round(percentile(self.latencies, 0.99) * 1000, 1) if self.latencies else None,
            "webhooks acked": len(self.acked_ids),
            "final statuses": dict(self.final),
            "lost": len(self.lost),
            "time to settle (s)": round(self.settle_seconds, 1),
        }


def _materials(target: Any) -> dict[str, Any]:
    return {source: target.signing_material(source) for source in SOURCES}


def run_load(
    app_url: str, target: Any, rate: float, seconds: float, settle_timeout: float = 120.0, seed: int = 5
) -> LoadResult:
    from ops import samples
    from ops.delivery import post, sign

    rng = random.Random(seed)
    materials = _materials(target)
    names = {source: samples.sample_names(materials[source].provider) for source in SOURCES}
    result = LoadResult(rate=rate, seconds=seconds)
    sent_so_far: list[tuple[str, Any]] = []

    def fire(source: str, delivery: Any) -> None:
        started = time.perf_counter()
        answer = post(f"{app_url}/webhook/{source}", delivery)
        elapsed = time.perf_counter() - started
        with result.lock:
            result.statuses[answer.status] += 1
            if 200 <= answer.status < 300:
                result.latencies.append(elapsed)
                result.acked_ids.update(answer.webhook_ids)

    interval = 1.0 / rate
    deadline = time.monotonic() + seconds
    next_at = time.monotonic()
    with ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT) as pool:
        index = 0
        while time.monotonic() < deadline:
            if sent_so_far and rng.random() < DUPLICATE_SHARE:
                source, delivery = rng.choice(sent_so_far)
                result.duplicates_sent += 1
            else:
                source = SOURCES[index % len(SOURCES)]
                index += 1
                material = materials[source]
                built = samples.build(material.provider, rng.choice(names[source]))
                delivery = sign(built, material)
                sent_so_far.append((source, delivery))
            pool.submit(fire, source, delivery)
            result.sent += 1
            next_at += interval
            pause = next_at - time.monotonic()
            if pause > 0:
                time.sleep(pause)

    # Every acked webhook must reach a final status: processed, ignored, or failed (dead-lettered).
    store = target.store()
    settle_started = time.monotonic()
    pending = set(result.acked_ids)
    while pending and time.monotonic() - settle_started < settle_timeout:
        for webhook_id in list(pending):
            record = store.get(webhook_id)
            if record is not None and record.is_final:
                result.final[record.status] += 1
                pending.discard(webhook_id)
        if pending:
            time.sleep(0.5)
    result.settle_seconds = time.monotonic() - settle_started
    result.lost = sorted(pending)
    return result


def record(result: LoadResult) -> None:
    summary = result.summary()
    lines = [BEGIN, f"Measured {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on a 2-core machine by "
             f"`python -m bench.load --rate {result.rate:g} --seconds {result.seconds:g} --record`.", "",
             "| figure | value |", "| --- | --- |"]
    lines += [f"| {key} | {value} |" for key, value in summary.items()]
    lines.append(END)
    text = REPORT.read_text()
    block = "\n".join(lines)
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    REPORT.write_text(text)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rate", type=float, default=20.0, help="requests per second (default 20)")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long to send (default 60)")
    parser.add_argument("--record", action="store_true", help="write the figures into docs/RELIABILITY.md")
    args = parser.parse_args()
    if not 0 < args.rate <= 200 or not 0 < args.seconds <= 600:
        parser.error("keep it bounded: --rate 0..200 and --seconds 0..600")

    from tests.e2e.stack import StackProcess

    with tempfile.TemporaryDirectory(prefix="payment-webhooks-load-") as state_dir:
        stack = StackProcess.start(Path(state_dir))
        os.environ["PAYMENT_WEBHOOKS_LOCAL_DIR"] = state_dir
        try:
            from ops.stage import local_target

            result = run_load(stack.url, local_target(), args.rate, args.seconds)
        finally:
            stack.interrupt()
    for key, value in result.summary().items():
        print(f"{key:28} {value}")
    if args.record:
        record(result)
        print(f"recorded in {REPORT}")
    return 0 if not result.lost and result.statuses and all(200 <= s < 300 for s in result.statuses) else 1


if __name__ == "__main__":
    sys.exit(main())
