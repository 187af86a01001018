"""Run localstripe (a third-party, stateful Stripe server) for the tests: ``python -m
tests.e2e.localstripe_server PORT``.

From scratch, and with its store kept in memory: localstripe pickles every change to the fixed,
machine-wide ``/tmp/localstripe.pickle``, which concurrent runs would share and race on.
"""

from __future__ import annotations

import sys

from localstripe import resources, server


def main(port: str) -> None:
    resources.Store.dump_to_disk = lambda self: None
    sys.argv = ["localstripe", "--port", port, "--from-scratch"]
    server.start()


if __name__ == "__main__":
    main(sys.argv[1])
