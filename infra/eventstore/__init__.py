"""Event-store adapters and the factory that picks one from a URL."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from contracts.eventstore import EventStore
from infra.settings import CommonSettings

if TYPE_CHECKING:
    from infra.eventstore.memory import MemoryEventStore

MEMORY_SCHEME = "memory://"
_named_memory_stores: dict[str, MemoryEventStore] = {}
_named_memory_lock = threading.Lock()


def store_url() -> str:
    """`EVENTSTORE_URL`, else `DATABASE_URL`, else the embedded SQLite file."""
    return CommonSettings.load().EVENTSTORE_URL


def open_store(url: str | None = None) -> EventStore:
    """An adapter for `url`: `esdb://…`/`kurrentdb://…` → EventStoreDB; `memory://` → a new,
    empty in-memory store (tests, throw-away runs); `memory://name` → the in-memory store of
    that name, one per process, shared by everyone who opens the name and kept until the
    process ends (so that several components of one test can meet in one store without
    passing it around); anything else → SQL."""
    url = url or store_url()
    if url.startswith(MEMORY_SCHEME):
        return _memory_store(url.removeprefix(MEMORY_SCHEME))
    if url.startswith(("esdb://", "esdb+discover://", "kurrentdb://")):
        from infra.eventstore.esdb import EsdbEventStore

        return EsdbEventStore(url)
    from infra.eventstore.sql import SqlEventStore

    return SqlEventStore(url)


def _memory_store(name: str) -> MemoryEventStore:
    """A new store when `name` is empty, else the process's one store of that name."""
    from infra.eventstore.memory import MemoryEventStore

    if not name:
        return MemoryEventStore()
    with _named_memory_lock:
        store = _named_memory_stores.get(name)
        if store is None:
            store = _named_memory_stores[name] = MemoryEventStore()
        return store
