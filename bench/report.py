"""One row per figure, and the three ways they are shown: a rich table, JSON, docs/PERFORMANCE.md.

Every row says what was measured (``ours``), what it is measured against in the same run
(``against``/``theirs``: an official library, an import floor, the replaced system, or the budget
itself for counts and sizes), the ratio, the budget, and whether it was met. ``met`` is None for
rows shown for information only; a budget missed is shown as MISSED, never left out.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PERFORMANCE_DOC = Path(__file__).resolve().parent.parent / "docs" / "PERFORMANCE.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"


@dataclass(frozen=True)
class Row:
    figure: str
    """Which of the issue's figures: "1 verification", "3 ingest", ..."""
    name: str
    ours: float
    unit: str
    against: str
    """What ``ours`` is compared with."""
    theirs: float | None
    ratio: float | None
    budget: str
    met: bool | None
    """True/False against the budget; None for a row shown for information."""
    note: str = ""

    @property
    def verdict(self) -> str:
        return {True: "MET", False: "MISSED", None: "info"}[self.met]


def budget_row(figure: str, name: str, ours: float, unit: str, limit: float, note: str = "",
               inclusive: bool = True) -> Row:
    """A figure whose comparison is its budget (counts, sizes): ratio = ours / limit."""
    met = ours <= limit if inclusive else ours < limit
    return Row(figure, name, ours, unit, "budget", limit, round(ours / limit, 3) if limit else None,
               f"{'<=' if inclusive else '<'} {limit:g} {unit}", met, note)


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    """Per-figure breakdowns (calls by operation, package contents, cost lines)."""
    quick: bool = False
    started: float = field(default_factory=time.time)
    seconds: float = 0.0

    def add(self, rows: Iterable[Row]) -> None:
        self.rows.extend(rows)

    @property
    def missed(self) -> list[Row]:
        return [row for row in self.rows if row.met is False]

    def to_json(self) -> dict[str, Any]:
        return {
            "measuredAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(self.started)),
            "quick": self.quick,
            "seconds": round(self.seconds, 1),
            "rows": [{**asdict(row), "verdict": row.verdict} for row in self.rows],
            "missed": [f"{row.figure}: {row.name}" for row in self.missed],
            "details": self.details,
        }


def number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "-"
    if unit == "$":
        return f"${value:,.2f}"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{value:.0f}"
    return f"{text} {unit}".strip()


def print_table(report: Report) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="payment-webhooks: `make bench`" + (" (--quick)" if report.quick else ""),
                  show_lines=False, header_style="bold")
    for column in ("figure", "measured", "ours", "against", "theirs", "ratio", "budget", ""):
        table.add_column(column, overflow="fold")
    for row in report.rows:
        style = {"MET": "green", "MISSED": "bold red", "info": "dim"}[row.verdict]
        table.add_row(
            row.figure, row.name, number(row.ours, row.unit), row.against, number(row.theirs, row.unit),
            "-" if row.ratio is None else f"{row.ratio:.2f}", row.budget, f"[{style}]{row.verdict}[/]",
        )
    console = Console() if sys.stdout.isatty() else Console(width=200)  # a log file needs no wrapping
    console.print(table)
    for row in report.rows:
        if row.note:
            console.print(f"[dim]{row.figure} / {row.name}: {row.note}[/]")
    missed = report.missed
    console.print(
        f"{len(report.rows)} figures in {report.seconds:.0f} s; "
        + (f"[bold red]{len(missed)} budget(s) MISSED[/]" if missed else "[green]every budget met[/]")
    )


def markdown_table(rows: Sequence[Row]) -> list[str]:
    lines = ["| figure | measured | ours | against | theirs | ratio | budget | |",
             "| --- | --- | ---: | --- | ---: | ---: | --- | --- |"]
    for row in rows:
        verdict = f"**{row.verdict}**" if row.met is False else row.verdict
        lines.append(
            f"| {row.figure} | {row.name} | {number(row.ours, row.unit)} | {row.against} | "
            f"{number(row.theirs, row.unit)} | {'-' if row.ratio is None else f'{row.ratio:.2f}'} | "
            f"{row.budget} | {verdict} |"
        )
    return lines


def record(report: Report, sections: Sequence[str], path: Path = PERFORMANCE_DOC) -> None:
    """Replace the generated block of docs/PERFORMANCE.md with this run's figures."""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(report.started))
    lines = [BEGIN, f"Measured {when} on this repository's 2-core development machine by "
             f"`python -m bench --record`{' --quick' if report.quick else ''} ({report.seconds:.0f} s).",
             ""]
    lines += markdown_table(report.rows)
    notes = [f"- {row.figure} / {row.name}: {row.note}" for row in report.rows if row.note]
    if notes:
        lines += ["", *notes]
    for section in sections:
        lines += ["", section.rstrip()]
    lines.append(END)
    block = "\n".join(lines)
    text = path.read_text() if path.exists() else ""
    if BEGIN in text and END in text:
        text = text[: text.index(BEGIN)] + block + text[text.index(END) + len(END):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def dumps(report: Report) -> str:
    return json.dumps(report.to_json(), indent=2)
