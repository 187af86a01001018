"""`python -m ops`: the operator CLI (see ops/cli.py). Errors are one line on stderr, never a traceback.

A newcomer's second terminal usually has the system ``python``, not the repository's ``.venv``;
rather than fail on a missing import, the command re-runs itself with ``.venv/bin/python`` when that
exists (``make run`` or ``make install`` creates it).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def _use_the_virtualenv() -> None:
    try:
        import boto3  # noqa: F401
        import click  # noqa: F401
        import tqdm  # noqa: F401
    except ImportError:
        venv = Path(__file__).resolve().parent.parent / ".venv"
        python = venv / "bin" / "python"
        if python.exists() and Path(sys.prefix).resolve() != venv.resolve():
            os.execv(str(python), [str(python), "-m", "ops", *sys.argv[1:]])
        sys.stderr.write("ops: error: its dependencies are not installed: run `make install` (or `make run`) first\n")
        sys.exit(1)


_use_the_virtualenv()

from ops.main import main  # noqa: E402

sys.exit(main(sys.argv[1:]))
