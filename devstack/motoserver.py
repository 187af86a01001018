"""The emulator process: ``moto_server``, without its one-line-per-request log unless asked.

Its log lives in ``.local/`` inside the project, and ``chalice local`` restarts itself whenever a
file under the project changes: a request log there would restart a ``chalice local`` running next
to ``make run`` on every AWS call. So the log keeps moto's warnings and errors, and
``MOTO_REQUEST_LOG=1`` brings the request lines back (then run ``chalice local --no-autoreload``).
"""

from __future__ import annotations

import logging
import os
import sys

from moto.server import main

if os.environ.get("MOTO_REQUEST_LOG") != "1":
    logging.getLogger("werkzeug").setLevel(logging.WARNING)

main(sys.argv[1:])
