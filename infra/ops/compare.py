"""Compare a projection's tables in two databases: counts, checksums, and the first difference."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from infra.ops.hashchain import canonical


@dataclass(frozen=True)
class TableSummary:
    """How many rows a table holds and a SHA-256 over them in key order."""

    table: str
    count: int
    checksum: str


@dataclass(frozen=True)
class Difference:
    """The first row where two tables part ways."""

    table: str
    key: dict[str, Any]
    live: dict[str, Any] | None
    rebuilt: dict[str, Any] | None

    def describe(self) -> str:
        """One paragraph for the operator."""
        if self.live is None:
            return f"{self.table}: row {canonical(self.key)} exists only in the rebuilt read model"
        if self.rebuilt is None:
            return f"{self.table}: row {canonical(self.key)} exists only in the live read model"
        columns = [c for c in self.live if self.live[c] != self.rebuilt.get(c)]
        shown = ", ".join(f"{c}: live={self.live[c]!r} rebuilt={self.rebuilt.get(c)!r}" for c in columns)
        return f"{self.table}: row {canonical(self.key)} differs in {shown}"


def _ordered_rows(conn: sa.Connection, table: sa.Table) -> Iterator[dict[str, Any]]:
    keys: list[Any] = list(table.primary_key.columns) or list(table.columns)
    if conn.dialect.name == "postgresql":
        # Code-point order, as Python and SQLite compare strings, whatever the server's locale.
        keys = [k.collate("C") if isinstance(k.type, sa.String) else k for k in keys]
    for row in conn.execute(sa.select(table).order_by(*keys)).mappings():
        yield {name: _plain(value) for name, value in row.items()}


def _plain(value: Any) -> Any:
    if isinstance(value, bool | int | float | str) or value is None:
        return value
    return str(value)


def _key(table: sa.Table, row: dict[str, Any]) -> dict[str, Any]:
    names = [c.name for c in table.primary_key.columns] or [c.name for c in table.columns]
    return {name: row[name] for name in names}


def summarise(conn: sa.Connection, table: sa.Table) -> TableSummary:
    """Count and checksum of `table` as seen through `conn`."""
    digest, count = hashlib.sha256(), 0
    for row in _ordered_rows(conn, table):
        digest.update(canonical(row).encode())
        digest.update(b"\n")
        count += 1
    return TableSummary(table.name, count, digest.hexdigest())


def first_difference(live: sa.Connection, rebuilt: sa.Connection, table: sa.Table) -> Difference | None:
    """Walk both tables in key order and return the first row that differs, if any."""
    left, right = _ordered_rows(live, table), _ordered_rows(rebuilt, table)
    a, b = next(left, None), next(right, None)
    while a is not None or b is not None:
        if a == b:
            a, b = next(left, None), next(right, None)
            continue
        key_a = _sort_key(_key(table, a)) if a is not None else None
        key_b = _sort_key(_key(table, b)) if b is not None else None
        if key_a == key_b and a is not None and b is not None:
            return Difference(table.name, _key(table, a), a, b)
        if b is None or (key_a is not None and key_b is not None and key_a < key_b):
            assert a is not None
            return Difference(table.name, _key(table, a), a, None)
        return Difference(table.name, _key(table, b), None, b)
    return None


def _sort_key(key: dict[str, Any]) -> tuple[tuple[int, Any], ...]:
    """The key as the database orders it (NULLs aside): numbers by value, text by code point."""
    return tuple(
        (0, 0) if v is None else (1, v) if isinstance(v, int | float) else (2, str(v)) for v in key.values()
    )


def compare_tables(
    live: sa.Connection, rebuilt: sa.Connection, tables: Sequence[sa.Table]
) -> tuple[list[tuple[TableSummary, TableSummary]], Difference | None]:
    """Summaries of every table on both sides, and the first difference found (None: equal)."""
    summaries = []
    for table in tables:
        ours, theirs = summarise(live, table), summarise(rebuilt, table)
        summaries.append((ours, theirs))
    for (ours, theirs), table in zip(summaries, tables, strict=True):
        if ours != theirs:
            return summaries, first_difference(live, rebuilt, table) or Difference(table.name, {}, {}, {})
    return summaries, None
