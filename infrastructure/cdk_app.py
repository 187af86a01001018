#!/usr/bin/env python3
"""CDK entry point: ``cdk synth -c stage=dev`` (via cdk.json) or ``make synth``.

Named ``cdk_app.py``, never ``app.py``: ``chalice package`` imports the module ``app`` while this
runs, and it must get the Chalice application at the repository root.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Python puts this file's directory first on sys.path; put the repository root there instead, so
# that `app` and `chalicelib` are the application's and `infrastructure` is this package.
sys.path[0] = str(REPO_ROOT)
# chalice package needs a region name (for service principals), not credentials.
os.environ.setdefault("AWS_DEFAULT_REGION", os.environ.get("CDK_DEFAULT_REGION", "us-east-1"))
# jsii (the CDK's Node.js runtime) prints a large banner about Node 20's end of life; it works.
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from aws_cdk.assertions import Annotations, Match  # noqa: E402  (after the path and environment are set)

from infrastructure.assembly import build_app, environment_from_cli  # noqa: E402
from infrastructure.stage_config import StageConfigError  # noqa: E402


def main() -> int:
    try:
        app, stack = build_app(env=environment_from_cli())
    except StageConfigError as error:  # a setting to fix, not a bug: one line, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 1
    app.synth()
    for warning in Annotations.from_stack(stack).find_warning("*", Match.any_value()):
        print(f"warning at {warning.id}: {warning.entry.data}", file=sys.stderr)
    # cdk-nag reports unsuppressed findings as error annotations; the CDK CLI refuses to deploy
    # with them, and so does this entry point.
    errors = Annotations.from_stack(stack).find_error("*", Match.any_value())
    for finding in errors:
        print(f"error at {finding.id}: {finding.entry.data}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
