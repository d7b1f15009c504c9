"""The integration tests run against a whole desk in real processes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.run import Desk
from tests.desk import running_desk


@pytest.fixture(params=["postgresql", "sqlite"])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Desk]:
    """The desk on a scratch PostgreSQL database, and on the embedded SQLite default."""
    with running_desk(tmp_path, request.param) as running:
        yield running
