"""A bounded load run against the local stack over HTTP: `make load` (loopback only).

Starts the stack exactly as `make run` does, sends correctly signed events of every provider at a
fixed rate for a fixed time (10% of them delivered twice, as providers do), optionally followed by
a burst at a multiple of that rate (a Black-Friday peak, a provider replaying its backlog), then
redelivers what was not answered 2xx (as a provider retries), waits until every acknowledged
webhook is final and reports acks, acknowledgement latency (p50/p99, from when each request was
due, so a client that falls behind in a burst shows as latency), anything lost and anything
applied twice (a record whose attempt history holds more than one final outcome). It stops by
itself: the rates, the durations and the wait are all bounded.

    python -m bench.load --rate 20 --seconds 60 --record   # a short run
    make load    # 10 minutes at the emulator's ceiling, then 30 s at 10x: docs/RELIABILITY.md
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
MAX_IN_FLIGHT = 64
"""Concurrent requests of the client: above what the stack answers at once on this machine, so that
a burst queues in the stack (as it would at API Gateway), not in a small client pool."""
REDELIVERY_ROUNDS = 3
"""Provider retries of the deliveries not answered 2xx (a 503 or a timeout in the burst)."""
FINAL_OUTCOMES = frozenset({"processed", "ignored", "failed"})
"""Attempt-history outcomes that end a webhook: more than one on a record is a double application."""


@dataclass
class Phase:
    name: str
    rate: float
    seconds: float
    sent: int = 0
    latencies: list[float] = field(default_factory=list)
    non_2xx: int = 0

    def summary(self) -> dict[str, Any]:
        return {
            f"{self.name}: target rate (req/s) x duration (s)": f"{self.rate:g} x {self.seconds:g}",
            f"{self.name}: requests sent, achieved rate (req/s)": f"{self.sent}, {self.sent / self.seconds:.1f}",
            f"{self.name}: ack latency p50 / p99 (ms)": _p50_p99(self.latencies),
            f"{self.name}: not answered 2xx at first": self.non_2xx,
        }


def _p50_p99(latencies: list[float]) -> str:
    if not latencies:
        return "-"
    return f"{percentile(latencies, 0.5) * 1000:.1f} / {percentile(latencies, 0.99) * 1000:.1f}"


@dataclass
class LoadResult:
    rate: float
    seconds: float
    phases: list[Phase] = field(default_factory=list)
    redelivered: int = 0
    double_applied: list[str] = field(default_factory=list)
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
        figures: dict[str, Any] = {}
        for phase in self.phases:
            figures.update(phase.summary())
        figures.update({
            "requests sent (all phases, redeliveries included)": self.sent,
            "of which duplicates": self.duplicates_sent,
            "redelivered after a non-2xx (provider retry)": self.redelivered,
            "answers by status": {str(s): n for s, n in sorted(self.statuses.items())},
            "ack latency p50 / p99 (ms), all": _p50_p99(self.latencies),
            "webhooks acked": len(self.acked_ids),
            "final statuses": dict(self.final),
            "lost": len(self.lost),
            "double-applied": len(self.double_applied),
            "time to settle (s)": round(self.settle_seconds, 1),
        })
        return figures

    @property
    def ok(self) -> bool:
        """Every webhook acknowledged, each final exactly once, and every delivery acked in the end."""
        unacked = self.sent - self.redelivered - sum(n for s, n in self.statuses.items() if 200 <= s < 300)
        return bool(self.acked_ids) and not self.lost and not self.double_applied and unacked <= 0


def _materials(target: Any) -> dict[str, Any]:
    return {source: target.signing_material(source) for source in SOURCES}


def run_load(
    app_url: str, target: Any, rate: float, seconds: float, settle_timeout: float = 120.0, seed: int = 5,
    burst_rate: float = 0.0, burst_seconds: float = 0.0,
) -> LoadResult:
    from ops import samples
    from ops.delivery import post, sign

    rng = random.Random(seed)
    materials = _materials(target)
    names = {source: samples.sample_names(materials[source].provider) for source in SOURCES}
    result = LoadResult(rate=rate, seconds=seconds)
    sent_so_far: list[tuple[str, Any]] = []
    """(source, built event) of every first delivery: what a duplicate re-sends."""
    unanswered: list[tuple[str, Any]] = []

    def fire(phase: Phase | None, source: str, delivery: Any, due: float) -> None:
        answer = post(f"{app_url}/webhook/{source}", delivery)
        elapsed = time.perf_counter() - due  # from when it was due: client lag counts as latency
        with result.lock:
            result.statuses[answer.status] += 1
            if 200 <= answer.status < 300:
                result.latencies.append(elapsed)
                if phase is not None:
                    phase.latencies.append(elapsed)
                result.acked_ids.update(answer.webhook_ids)
            else:
                unanswered.append((source, delivery))
                if phase is not None:
                    phase.non_2xx += 1

    phases = [Phase("sustained", rate, seconds)]
    if burst_rate > 0 and burst_seconds > 0:
        phases.append(Phase("burst", burst_rate, burst_seconds))
    result.phases = phases
    index = 0

    def next_delivery() -> tuple[str, Any]:
        nonlocal index
        if sent_so_far and rng.random() < DUPLICATE_SHARE:
            # A provider's retry of an event sent before: the same event, signed when it is sent,
            # as providers sign each attempt (Stripe's and Standard Webhooks' signatures carry the
            # attempt's time). Re-sending the first attempt's bytes minutes later would be a replay
            # outside the tolerance, rightly refused with 401 (the 2026-12-01 run's 84 refusals).
            result.duplicates_sent += 1
            source, event = rng.choice(sent_so_far)
            return source, sign(event, materials[source])
        source = SOURCES[index % len(SOURCES)]
        index += 1
        material = materials[source]
        event = samples.build(material.provider, rng.choice(names[source]))
        sent_so_far.append((source, event))
        return source, sign(event, material)

    with ThreadPoolExecutor(max_workers=MAX_IN_FLIGHT) as pool:
        for phase in phases:
            # A burst's deliveries are signed just before it: signing inline (RSA for PayPal) holds
            # this client to about the sustained rate on two cores, which would measure the client.
            count = int(phase.rate * phase.seconds)
            prepared = [next_delivery() for _ in range(count)] if phase.name == "burst" else []
            interval = 1.0 / phase.rate
            deadline = time.monotonic() + phase.seconds
            next_at = time.monotonic()
            while time.monotonic() < deadline:
                source, delivery = prepared.pop() if prepared else next_delivery()
                pool.submit(fire, phase, source, delivery, time.perf_counter() + max(0.0, next_at - time.monotonic()))
                result.sent += 1
                phase.sent += 1
                next_at += interval
                pause = next_at - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
    # A provider retries what was not answered 2xx: the same signed delivery, a little later.
    for _ in range(REDELIVERY_ROUNDS):
        if not unanswered:
            break
        retry, unanswered[:] = list(unanswered), []
        time.sleep(2.0)
        with ThreadPoolExecutor(max_workers=8) as pool:
            for source, delivery in retry:
                pool.submit(fire, None, source, delivery, time.perf_counter())
                result.sent += 1
                result.redelivered += 1

    # Every acked webhook must reach a final status (processed, ignored, or failed: dead-lettered),
    # and exactly once: its attempt history (the processor's own record) holds one final outcome.
    store = target.store()
    settle_started = time.monotonic()
    pending = set(result.acked_ids)
    while pending and time.monotonic() - settle_started < settle_timeout:
        loaded = store.load(sorted(pending))
        for webhook_id, record in loaded.found.items():
            if record.is_final:
                result.final[record.status] += 1
                finals = sum(1 for entry in record.attempt_log if entry.get("outcome") in FINAL_OUTCOMES)
                if finals > 1:
                    result.double_applied.append(f"{webhook_id} final x{finals}")
                pending.discard(webhook_id)
        if pending:
            time.sleep(1.0)
    result.settle_seconds = time.monotonic() - settle_started
    result.lost = sorted(pending)
    return result


def record(result: LoadResult) -> None:
    summary = result.summary()
    command = f"python -m bench.load --rate {result.rate:g} --seconds {result.seconds:g}"
    if len(result.phases) > 1:
        burst = result.phases[1]
        command += f" --burst-factor {burst.rate / result.rate:g} --burst-seconds {burst.seconds:g}"
    lines = [BEGIN, f"Measured {time.strftime('%Y-%m-%d %H:%M', time.gmtime())} UTC on a 2-core machine (shared) by "
             f"`{command} --record`.", "",
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
    parser.add_argument("--burst-factor", type=float, default=0.0, help="then a burst at this multiple of --rate")
    parser.add_argument("--burst-seconds", type=float, default=0.0, help="how long the burst lasts (default none)")
    parser.add_argument("--record", action="store_true", help="write the figures into docs/RELIABILITY.md")
    args = parser.parse_args()
    if not 0 < args.rate <= 200 or not 0 < args.seconds <= 600:
        parser.error("keep it bounded: --rate 0..200 and --seconds 0..600")
    if not 0 <= args.burst_factor <= 20 or not 0 <= args.burst_seconds <= 60:
        parser.error("keep it bounded: --burst-factor 0..20 and --burst-seconds 0..60")
    burst_rate = args.rate * args.burst_factor
    expected = args.rate * args.seconds + burst_rate * args.burst_seconds
    # The local poller works through a burst's backlog after it: give it time in proportion.
    settle_timeout = max(120.0, expected / 3)

    from tests.e2e.stack import StackProcess

    with tempfile.TemporaryDirectory(prefix="payment-webhooks-load-") as state_dir:
        stack = StackProcess.start(Path(state_dir))
        os.environ["PAYMENT_WEBHOOKS_LOCAL_DIR"] = state_dir
        try:
            from ops.stage import local_target

            result = run_load(stack.url, local_target(), args.rate, args.seconds, settle_timeout=settle_timeout,
                              burst_rate=burst_rate, burst_seconds=args.burst_seconds)
        finally:
            stack.interrupt()
    for key, value in result.summary().items():
        print(f"{key:52} {value}")
    if args.record:
        record(result)
        print(f"recorded in {REPORT}")
    for line in result.double_applied[:10]:
        print(f"double-applied: {line}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
