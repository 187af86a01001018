"""Figure 2: cold start, as import time in fresh processes (median of many, interleaved).

- ``import app``: what every Lambda of ours pays before its first event.
- ``import app`` + the first event's wiring with tracing on (settings, boto3 clients, the narrow
  botocore patch): what the receiver really pays before it can answer.
- the floor: the imports nobody can avoid (``boto3``, ``chalice`` and, with tracing, the X-Ray
  SDK), plus, for the second figure, creating the same three clients.
- the replaced receiver: boto3 + X-Ray SDK + ``patch_all()`` (plus the same clients).

Bytecode is compiled once before measuring (a warm-up run of each program), as the Lambda
runtime's own boto3 is; each measured run is a new interpreter, with ``LAMBDA_TASK_ROOT`` set
so that the X-Ray SDK behaves as it does in Lambda.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.report import Row

ROOT = Path(__file__).resolve().parent.parent
IMPORT_BUDGET = 1.15
FIGURE = "2 cold start"

CLIENTS = "[session.client(name) for name in ('dynamodb', 'sqs', 'secretsmanager')]\n"
PROGRAMS = {
    "app import": "import app",
    "app import + first-event wiring (tracing on)": (
        "import app\n"
        "from chalicelib.runtime import services\n"
        "s = services().aws\n"
        "s.dynamodb; s.sqs; s.secretsmanager\n"
    ),
    "floor: boto3 + chalice": "import boto3, chalice",
    "floor: boto3 + chalice + X-Ray SDK + the same clients": (
        "import boto3, chalice, aws_xray_sdk.core\nsession = boto3.session.Session()\n" + CLIENTS
    ),
    "replaced receiver": "import bench.baseline_receiver",
    "replaced receiver + the same clients": (
        "import bench.baseline_receiver, boto3\nsession = boto3.session.Session()\n" + CLIENTS
    ),
}


def _timed(program: str) -> float:
    code = f"import time\n_t = time.perf_counter()\n{program}\nprint(time.perf_counter() - _t)\n"
    env = {
        **os.environ,
        "TRACING": "true",
        "AWS_XRAY_SDK_ENABLED": "false",  # no daemon here: keep the SDK from emitting anything
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        # As in Lambda: outside it the X-Ray SDK builds an X-Ray client at import for centralized
        # sampling (170 ms here), which in Lambda it never does (Lambda samples).
        "LAMBDA_TASK_ROOT": str(ROOT),
    }
    env.pop("AWS_ENDPOINT_URL", None)
    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return float(output.stdout.strip().splitlines()[-1])


def measure(runs: int) -> dict[str, float]:
    samples: dict[str, list[float]] = {name: [] for name in PROGRAMS}
    for program in PROGRAMS.values():
        _timed(program)  # write .pyc files once, outside the measurement
    for _ in range(runs):
        for name, program in PROGRAMS.items():
            samples[name].append(_timed(program))
    return {name: statistics.median(values) for name, values in samples.items()}


def run(quick: bool = False) -> list[Row]:
    runs = 5 if quick else 15
    medians = measure(runs)

    def ms(name: str) -> float:
        return round(medians[name] * 1000, 1)

    def row(name: str, against: str, budget: str, met: bool | None, note: str = "") -> Row:
        ratio = medians[name] / medians[against]
        return Row(FIGURE, name, ms(name), "ms", against, ms(against), round(ratio, 3), budget, met, note)

    ratio = medians["app import"] / medians["floor: boto3 + chalice"]
    wiring = "app import + first-event wiring (tracing on)"
    wiring_ratio = medians[wiring] / medians["floor: boto3 + chalice + X-Ray SDK + the same clients"]
    return [
        row("app import", "floor: boto3 + chalice", f"<= {IMPORT_BUDGET}", ratio <= IMPORT_BUDGET,
            "below the floor: boto3 and the X-Ray SDK are imported with the first client, not with the app"),
        row("app import", "replaced receiver", "< 1.0", medians["app import"] < medians["replaced receiver"]),
        row(wiring, "floor: boto3 + chalice + X-Ray SDK + the same clients", f"<= {IMPORT_BUDGET}",
            wiring_ratio <= IMPORT_BUDGET, f"median of {runs} fresh interpreters each"),
        row(wiring, "replaced receiver + the same clients", "info", None,
            "the replaced receiver has no web framework: Chalice's import is the difference"),
    ]
