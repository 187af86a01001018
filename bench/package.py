"""Figure 5: the Lambda deployment package, as ``chalice package`` builds it for the prod stage.

Built the way the stack builds it (``infrastructure/chalice_app.py``: pip with ``PIP_NO_DEPS=1``
over requirements.txt, which lists every package that ships), from a copy of the application in
``.local/bench/package/`` so that the working copy's own ``.chalice/deployments`` cache is never
involved (Chalice keeps its dependency cache in the copy, so a rerun is quick). The zip is then
read back: its size zipped and unzipped, and what is in it, largest first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path
from typing import Any

from bench.report import Row, budget_row

FIGURE = "5 package"
ROOT = Path(__file__).resolve().parent.parent
WORK = ROOT / ".local" / "bench" / "package"
BUDGET_MB = 10.0
PROVIDED_BY_THE_RUNTIME = ("boto3", "botocore", "s3transfer")
MB = 1_000_000


def _project() -> Path:
    """A fresh copy of what ``chalice package`` reads (keeping Chalice's cache of dependencies)."""
    project = WORK / "project"
    for name in ("app.py", "chalicelib", "requirements.txt"):
        target = project / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    project.mkdir(parents=True, exist_ok=True)
    shutil.copy2(ROOT / "app.py", project / "app.py")
    shutil.copy2(ROOT / "requirements.txt", project / "requirements.txt")
    shutil.copytree(ROOT / "chalicelib", project / "chalicelib", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    config = project / ".chalice"
    config.mkdir(exist_ok=True)
    for source in (ROOT / ".chalice").glob("*.json"):
        shutil.copy2(source, config / source.name)
    return project


def build(stage: str = "prod") -> Path:
    project = _project()
    out = WORK / "out"
    shutil.rmtree(out, ignore_errors=True)
    env = {**os.environ, "PIP_NO_DEPS": "1", "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "us-east-1")}
    # A deployed stage refuses to package with the local placeholder stream (chalicelib/settings.py).
    env.setdefault("WEBHOOK_TABLE_STREAM_ARN",
                   f"arn:aws:dynamodb:us-east-1:123456789012:table/payment-webhooks-{stage}/stream/x")
    chalice = Path(sys.executable).with_name("chalice")
    completed = subprocess.run([str(chalice), "package", "--stage", stage, str(out)], cwd=project, env=env,
                               capture_output=True, text=True, timeout=900)
    if completed.returncode != 0:
        raise RuntimeError(f"chalice package failed: {completed.stderr.strip()[-2000:]}")
    return out / "deployment.zip"


def contents(package: Path) -> dict[str, Any]:
    unzipped: Counter[str] = Counter()
    zipped: Counter[str] = Counter()
    with zipfile.ZipFile(package) as archive:
        for info in archive.infolist():
            top = info.filename.split("/", 1)[0]
            unzipped[top] += info.file_size
            zipped[top] += info.compress_size
    return {
        "zippedBytes": package.stat().st_size,
        "unzippedBytes": sum(unzipped.values()),
        "entries": [{"name": name, "unzippedBytes": size, "zippedBytes": zipped[name]}
                    for name, size in unzipped.most_common()],
    }


def run(quick: bool = False) -> tuple[list[Row], dict[str, Any]]:
    found = contents(build())
    runtime_bytes = sum(entry["unzippedBytes"] for entry in found["entries"]
                        if entry["name"].split("-")[0].split(".")[0] in PROVIDED_BY_THE_RUNTIME)
    top = ", ".join(f"{e['name']} {e['unzippedBytes'] / MB:.1f}/{e['zippedBytes'] / MB:.1f}"
                    for e in found["entries"][:6])
    rows = [
        budget_row(FIGURE, "deployment package, zipped (chalice package, prod)", round(found["zippedBytes"] / MB, 2),
                   "MB", BUDGET_MB, f"largest (MB unzipped/zipped): {top}", inclusive=False),
        Row(FIGURE, "deployment package, unzipped", round(found["unzippedBytes"] / MB, 2), "MB", "Lambda's limit",
            250.0, round(found["unzippedBytes"] / MB / 250.0, 3), "info", None),
        Row(FIGURE, "boto3/botocore bundled (the runtime provides them)", round(runtime_bytes / MB, 2), "MB", "none",
            0.0, None, "= 0", runtime_bytes == 0),
    ]
    return rows, found
