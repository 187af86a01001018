"""Regenerate the fault-injection table in docs/RELIABILITY.md: `python -m tests.reliability`.

Runs every named scenario with more traffic than the CI-sized test and rewrites the block between
the markers in docs/RELIABILITY.md (the load figures elsewhere in that file are left alone).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from tests.reliability.judge import Outcome
from tests.reliability.scenarios import SCENARIOS, emulated_stack, run_named

REPORT = Path(__file__).resolve().parents[2] / "docs" / "RELIABILITY.md"
BEGIN, END = "<!-- fault-injection:begin -->", "<!-- fault-injection:end -->"


def table(outcomes: list[Outcome], webhooks: int) -> str:
    lines = [
        BEGIN,
        f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M} UTC by `python -m tests.reliability --webhooks {webhooks}`.",
        "",
        "`provider events` are distinct genuine events (an Adyen delivery carries two); `acked records` are",
        "the webhook records the provider got a 2xx for; forgeries are deliveries altered after signing.",
        "",
        "| scenario | provider events | acked records | lost | double-applied | dead-lettered | needed a requeue "
        "| faults injected | provider gave up | forgeries refused |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for o in outcomes:
        lines.append(
            f"| {o.scenario} | {o.webhooks} | {o.acked} | {len(o.lost)} | {len(o.double_applied)} | "
            f"{o.dead_lettered} | {o.needed_requeue} | {o.injected} | {o.gave_up} | {o.forgeries_refused} |"
        )
    lines.append(END)
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--webhooks", type=int, default=60, help="provider events per scenario")
    args = parser.parse_args()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    outcomes: list[Outcome] = []
    with emulated_stack() as (client, session, endpoint):
        for scenario in SCENARIOS:
            sys.stdout = open(os.devnull, "w")  # the app's own log lines
            try:
                outcome = run_named(scenario, client, session, endpoint, args.webhooks)
            finally:
                sys.stdout.close()
                sys.stdout = sys.__stdout__
            outcomes.append(outcome)
            print(f"{scenario.name:45} acked={outcome.acked:4} lost={len(outcome.lost)} "
                  f"double={len(outcome.double_applied)} ok={outcome.ok}")
    block = table(outcomes, args.webhooks)
    text = REPORT.read_text() if REPORT.exists() else ""
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = block + "\n"
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(text)
    print(f"wrote {REPORT}")
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
