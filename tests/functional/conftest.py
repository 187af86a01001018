"""Fixtures the functional tests share (the moto ``stack`` itself is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from ops import cli_export, cli_records
from ops.stage import StageTarget


@pytest.fixture
def target(stack, monkeypatch: pytest.MonkeyPatch) -> StageTarget:
    """The moto stack as ``ops`` sees a stage: what ``resolve`` would find for a deployed one.

    Patched into every ``ops`` command module a functional test drives (records, export), so a
    command run through ``ops.main`` reads and writes the moto stack's table, queues and bucket.
    """
    resources = stack.resources
    found = StageTarget(
        stage="local", session=stack.session, endpoint_url=None, table_name=resources.table_name,
        queue_name="unused", sources_secret_id=resources.secret_id, queue_url=resources.queue_url,
        dlq_url=resources.dlq_url, archive_bucket=resources.archive_bucket,
    )
    monkeypatch.setattr(cli_records, "resolve", lambda stage: found)
    monkeypatch.setattr(cli_export, "resolve", lambda stage: found)
    return found
