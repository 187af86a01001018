"""`make bench` (``python -m bench``): every figure of issue 7, each against its comparison, in one run.

    python -m bench            # the table (about a minute on a 2-core machine)
    python -m bench --quick    # smaller samples, about 25 s: a smoke run, not for the record
    python -m bench --json     # the same figures, machine-readable, on stdout
    python -m bench --record   # and write them into docs/PERFORMANCE.md

Exits 1 when a budget is missed (the table says which), 0 otherwise.
"""

from __future__ import annotations

import argparse
import math
import sys
import time

from bench import calls, coldstart, cost, ingest, package, processing, report, verification


def _progress(enabled: bool, text: str) -> None:
    if enabled:
        print(f"bench: {text}", file=sys.stderr, flush=True)


def run_all(quick: bool, show_progress: bool) -> report.Report:
    result = report.Report(quick=quick)
    started = time.monotonic()
    _progress(show_progress, "1/6 verification against the official libraries")
    result.add(verification.run(quick))
    _progress(show_progress, "2/6 cold start (fresh interpreters)")
    result.add(coldstart.run(quick))
    _progress(show_progress, "3/6 AWS calls on the local stack, end to end")
    call_rows, call_details = calls.run(quick)
    _progress(show_progress, "3/6 route handler time, AWS stubbed")
    handler_rows = ingest.run(quick)
    result.add([row for row in call_rows if row.figure == calls.FIGURE])
    result.add(handler_rows)
    _progress(show_progress, "4/6 processing, batches of ten")
    processing_rows, processing_details = processing.run(quick)
    result.add(processing_rows)
    result.add([row for row in call_rows if row.figure != calls.FIGURE])
    _progress(show_progress, "5/6 deployment package (chalice package)")
    package_rows, package_details = package.run(quick)
    result.add(package_rows)
    _progress(show_progress, "6/6 cost model")
    fresh = processing_details["freshContainerPerBatch"]
    sizes = call_details["itemSizes"]
    webhook_sizes = [(entry["meanBytes"], entry["count"]) for label, entry in sizes.items()
                     if label.startswith("webhook:")]
    inputs = cost.CostInputs(
        ingest_calls={op: n / call_details["ingest"]["new event"]["requests"]
                      for op, n in call_details["ingest"]["new event"]["operations"].items()},
        processing_calls={op: n / fresh["messages"] for op, n in fresh["calls"].items()},
        webhook_item_bytes=sum(size * count for size, count in webhook_sizes)
        / sum(count for _, count in webhook_sizes),
        webhook_write_units=sum(math.ceil(size / 1024) * count for size, count in webhook_sizes)
        / sum(count for _, count in webhook_sizes),
        payment_item_bytes=float(sizes.get("payment", {}).get("meanBytes", 1024)),
        handler_microseconds=handler_rows[0].ours,
        log_bytes_per_webhook=float(fresh["logBytesPerWebhook"]),
        audit_log_bytes_per_webhook=float(fresh["auditLogBytesPerWebhook"]),
        read_units_per_webhook=float(fresh["readUnitsPerWebhook"]),
        processor_cpu_ms_per_batch=float(processing_details["warmContainer"]["ownMsPerBatch"]),
        memory_mb=cost.memory_sizes(),
    )
    cost_rows, cost_details = cost.run(inputs)
    result.add(cost_rows)
    result.details = {"calls": call_details, "processing": processing_details, "package": package_details,
                      "cost": cost_details}
    result.seconds = time.monotonic() - started
    return result


def sections(result: report.Report) -> list[str]:
    """The details under the table in docs/PERFORMANCE.md."""
    details = result.details
    ingest_lines = ["#### AWS calls seen on the ingest path (end-to-end run)", "",
                    "| request | requests | calls per webhook (mean / most) | calls seen |",
                    "| --- | ---: | ---: | --- |"]
    for kind, seen in details["calls"]["ingest"].items():
        shapes = "; ".join(f"{shape} ({n}x)" for shape, n in seen["shapes"].items())
        ingest_lines.append(f"| {kind} | {seen['requests']} | "
                            f"{seen['meanPerWebhook']:.2f} / {seen['maxPerWebhook']:.0f} | {shapes} |")
    by_function = details["calls"]["byFunction"]
    ingest_lines += ["", "Every call of the run, by function: " + "; ".join(
        f"`{function}` " + ", ".join(f"{op} {n}" for op, n in ops.items())
        for function, ops in by_function.items()) + "."]
    sizes = details["calls"]["itemSizes"]
    ingest_lines += ["", "Item sizes read back from the table (bytes as DynamoDB counts them, mean / max): "
                     + ", ".join(f"{label} {entry['meanBytes']} / {entry['maxBytes']}"
                                 for label, entry in sizes.items()) + "."]
    package_details = details["package"]
    package_lines = ["#### What the deployment package holds (largest first)", "",
                     "| entry | unzipped | zipped |", "| --- | ---: | ---: |"]
    for entry in package_details["entries"][:12]:
        package_lines.append(f"| `{entry['name']}` | {entry['unzippedBytes'] / 1e6:.2f} MB | "
                             f"{entry['zippedBytes'] / 1e6:.2f} MB |")
    package_lines.append(f"| **total** ({len(package_details['entries'])} entries) | "
                         f"**{package_details['unzippedBytes'] / 1e6:.2f} MB** | "
                         f"**{package_details['zippedBytes'] / 1e6:.2f} MB** |")
    return ["\n".join(ingest_lines), "\n".join(package_lines), cost.markdown(details["cost"])]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller samples: a smoke run, not for the record")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON instead of a table")
    parser.add_argument("--record", action="store_true", help="also write the figures into docs/PERFORMANCE.md")
    args = parser.parse_args(argv)
    result = run_all(quick=args.quick, show_progress=not args.json)
    if args.json:
        print(report.dumps(result))
    else:
        report.print_table(result)
    if args.record:
        report.record(result, sections(result))
        _progress(not args.json, f"recorded in {report.PERFORMANCE_DOC}")
    return 1 if result.missed else 0


if __name__ == "__main__":
    sys.exit(main())
