"""Event-store adapters and the factory that picks one from a URL."""

from __future__ import annotations

import os

from contracts.eventstore import EventStore
from infra.db import default_url


def store_url() -> str:
    """`EVENTSTORE_URL`, else `DATABASE_URL`, else the embedded SQLite file."""
    return os.environ.get("EVENTSTORE_URL") or os.environ.get("DATABASE_URL") or default_url("events")


def open_store(url: str | None = None) -> EventStore:
    """An adapter for `url`: `esdb://…`/`kurrentdb://…` → EventStoreDB, anything else → SQL."""
    url = url or store_url()
    if url.startswith(("esdb://", "esdb+discover://", "kurrentdb://")):
        from infra.eventstore.esdb import EsdbEventStore

        return EsdbEventStore(url)
    from infra.eventstore.sql import SqlEventStore

    return SqlEventStore(url)
