"""`python -m devstack` (what `make run` runs): the local stack; see devstack/runner.py."""

from __future__ import annotations

import sys

from devstack.runner import main

sys.exit(main())
