"""The outbox provider (the default SMS "phone"): one row per message id, however often it is
handed over, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest

from infra.db import Database
from services.notify.providers import OutboxProvider
from tests.pg import required_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[OutboxProvider]:
    with ExitStack() as stack:
        url = f"sqlite:///{tmp_path / 'outbox.db'}"
        if request.param == "postgresql":
            url = stack.enter_context(required_database())
        provider = OutboxProvider(url)
        yield provider
        provider.db.dispose()


def test_a_message_handed_over_again_is_counted_not_sent_again(outbox: OutboxProvider) -> None:
    first = outbox.send("m1", "09120000001", "درخواست شما ثبت شد")
    again = outbox.send("m1", "09120000001", "درخواست شما ثبت شد")
    outbox.send("m2", "09120000002", "پاسخ داده شد")
    assert first == again and first.provider_message_id == "outbox-m1"
    sent = outbox.messages()
    assert [(m["message_id"], m["to"], m["requests"]) for m in sent] == [
        ("m1", "09120000001", 2),
        ("m2", "09120000002", 1),
    ]
    assert sent[0]["text"] == "درخواست شما ثبت شد"


def test_on_sqlite_the_outbox_does_not_wait_for_the_disk(tmp_path: Path) -> None:
    provider = OutboxProvider(f"sqlite:///{tmp_path / 'outbox.db'}")
    try:
        with provider.db.write.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    finally:
        provider.db.dispose()
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    try:
        with other.write.connect() as conn:  # everything else keeps the default (FULL)
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 2
    finally:
        other.dispose()
