"""A projection batch's rows: read once, changed in memory, written once.

A projection applying a batch of events one statement at a time pays a round trip and the
building of a statement for every read and every write, several per event. `Rows` keeps the
rows a batch touches in memory, keyed by primary key: `load` reads the rows of many keys in one
query, `get`/`insert`/`update`/`delete` work on memory, and `flush` sends what changed as one
statement per table and kind (DELETE, INSERT, UPDATE of every column), each with all its rows.
The result in the tables is what the same calls made one by one would have left.

Only primary-key access goes through `Rows`; a query of any other shape must see the flushed
rows, so it asks for `sql()`, which flushes first.

On PostgreSQL (psycopg2) many inserts into one table go as one `COPY … FROM STDIN` instead of an
`INSERT … VALUES` list: the server parses them much faster, and no parameter dictionary is built
per row (a rebuild writes millions of rows). Not inside a service whose psycopg2 waits through
a green-thread callback (psycogreen): psycopg2 refuses COPY there, so its inserts stay `INSERT`s.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from operator import itemgetter
from typing import Any

import sqlalchemy as sa

Key = tuple[Any, ...]
Row = dict[str, Any]

LOAD_CHUNK = 500
"""Keys per `IN (…)` when loading."""

COPY_AT_LEAST = 50
"""Inserts into one table from which PostgreSQL gets a `COPY` instead of an `INSERT`."""


class DuplicateRow(ValueError):
    """An insert of a key that already has a row (what the database would refuse)."""


@dataclass
class _Table:
    """What a batch knows of one table."""

    table: sa.Table
    key_columns: list[sa.Column[Any]] = field(init=False)
    key_names: tuple[str, ...] = field(init=False)
    blank: Row = field(init=False)
    """Every column with its scalar default (or None): what an insert starts from."""
    width: int = field(init=False)
    """How many columns the table has."""
    key_of: Callable[[Row], Key] = field(init=False, repr=False)
    """The key of a row: a tuple of its key columns' values."""
    rows: dict[Key, Row | None] = field(default_factory=dict)
    """The row of each known key now; None when it has none."""
    stored: dict[Key, bool] = field(default_factory=dict)
    """Whether the database holds a row for the key (as of the last load or flush)."""
    dirty: dict[Key, None] = field(default_factory=dict)
    """Keys changed since the last flush, in the order they were first changed."""

    def __post_init__(self) -> None:
        self.key_columns = list(self.table.primary_key.columns)
        self.key_names = tuple(column.name for column in self.key_columns)
        self.blank = {column.name: _default(column) for column in self.table.columns}
        self.width = len(self.blank)
        self.key_of = _tuple_getter(self.key_names)

    def check_columns(self, row: Row) -> None:
        """`row` is a whole row (stored or blank) with the caller's values merged in: more columns
        than the table means a value named a column it lacks (cheaper than comparing names)."""
        if len(row) != len(self.blank):
            raise KeyError(f"{self.table.name} has no column {sorted(set(row) - set(self.blank))}")


class Rows:
    """The rows of one transaction's tables, changed in memory until `flush`."""

    def __init__(self, conn: sa.Connection) -> None:
        self.conn = conn
        self._tables: dict[str, _Table] = {}
        self._additions: dict[tuple[sa.Table, str], dict[Key, int]] = {}
        """Counter changes not applied yet, by table and column, then key."""

    # -- reading -----------------------------------------------------------------------------

    def load(self, table: sa.Table, keys: Iterable[Any]) -> None:
        """Read the rows of every key not known yet (a key is a value, or a tuple of values for
        a composite primary key), one query per `LOAD_CHUNK` keys."""
        known = self._of(table)
        wanted = list(dict.fromkeys(k for k in map(_key, keys) if k not in known.rows))
        columns = known.key_columns
        for start in range(0, len(wanted), LOAD_CHUNK):
            chunk = wanted[start : start + LOAD_CHUNK]
            keys = [k[0] for k in chunk] if len(columns) == 1 else chunk
            for found in self.conn.execute(_load_statement(table), {"keys": keys}):
                row = dict(found._mapping)
                known.rows[known.key_of(row)] = row
                known.stored[known.key_of(row)] = True
            for key in chunk:
                if key not in known.rows:
                    known.rows[key] = None
                    known.stored[key] = False

    def load_for(
        self,
        table: sa.Table,
        events: Iterable[Any],
        key: Callable[[Any], Any],
        creates: type | tuple[type, ...],
    ) -> None:
        """Read the rows `events` touch (`key(event)`, None for none), except those whose first
        event here creates them (an instance of `creates`): such a row cannot exist before its
        creation, so it is taken as missing without a query. A rebuild meets almost every row
        first by the event that creates it, and reading those anyway was most of its queries.
        Should one exist after all (the same creation twice), the database refuses its insert
        when the batch is flushed."""
        created_first: dict[Any, bool] = {}
        for event in events:
            k = key(event)
            if k is not None and k not in created_first:
                created_first[k] = isinstance(event, creates)
        self.load(table, [k for k, created in created_first.items() if not created])
        known = self._of(table)
        for k in (_key(k) for k, created in created_first.items() if created):
            if k not in known.rows:
                known.rows[k] = None
                known.stored[k] = False

    def get(self, table: sa.Table, *key: Any) -> Row | None:
        """The row of `key` now (a copy the caller may keep), or None."""
        known = self._of(table)
        if key not in known.rows:
            self.load(table, [key])
        row = known.rows[key]
        return None if row is None else dict(row)

    # -- changing ----------------------------------------------------------------------------

    def insert(self, table: sa.Table, values: Row) -> Row:
        """Add a row; columns left out are NULL (or their scalar default). A key already known
        to have a row is refused; one not known is taken to have none, and the database has the
        last word when the batch is flushed."""
        known = self._tables.get(table.name) or self._of(table)
        row = {**known.blank, **values}
        if len(row) != known.width:
            known.check_columns(row)
        key = known.key_of(row)
        if None in key:
            raise ValueError(f"{table.name}: a row needs its whole key, not {key}")
        rows = known.rows
        if rows.get(key) is not None:
            raise DuplicateRow(f"{table.name} already has a row {key}")
        rows[key] = row
        if key not in known.stored:
            known.stored[key] = False
        known.dirty[key] = None
        return row.copy()

    def update(self, table: sa.Table, key: Any, values: Row) -> Row | None:
        """Change some columns of the row of `key` (a value, or a tuple for a composite key);
        None, and no change, when there is no such row."""
        known = self._tables.get(table.name) or self._of(table)
        if not isinstance(key, tuple):
            key = (key,)
        rows = known.rows
        if key not in rows:
            self.load(table, [key])
        row = rows[key]
        if row is None:
            known.check_columns({**known.blank, **values})
            return None
        changed = {**row, **values}
        if len(changed) != known.width:
            known.check_columns(changed)
        if known.key_of(changed) != key:
            raise ValueError(f"{table.name}: a row's key cannot change")
        rows[key] = changed
        known.dirty[key] = None
        return changed.copy()

    def upsert(self, table: sa.Table, values: Row) -> Row:
        """Change the row of `values`' key, or add it."""
        known = self._of(table)
        key = known.key_of(values)
        changed = self.update(table, key, values)
        return changed if changed is not None else self.insert(table, values)

    def delete(self, table: sa.Table, *key: Any) -> None:
        """Remove the row of `key`, if there is one."""
        known = self._of(table)
        if key not in known.rows:
            self.load(table, [key])
        if known.rows[key] is not None:
            known.rows[key] = None
            known.dirty[key] = None

    # -- writing -----------------------------------------------------------------------------

    def add(self, table: sa.Table, key: Any, column: str, change: int) -> None:
        """Add `change` to the counter `column` of the row of `key` (a new row starts at 0; a row
        whose counters all come to 0 is removed, so live and rebuilt tables hold the same rows).
        Changes are summed and applied when the batch is flushed, so that the rows of all the
        batch's counters are read in one query; `get` does not see them before."""
        pending = self._additions.setdefault((table, column), {})
        key = _key(key)
        pending[key] = pending.get(key, 0) + change

    def sql(self) -> sa.Connection:
        """The connection, with every change flushed: for queries that are not by key."""
        self.flush()
        return self.conn

    def flush(self) -> None:
        """Write every change since the last flush: per table, the deletes, then the inserts,
        then the updates, each as one statement with all its rows."""
        self._apply_additions()
        for known in self._tables.values():
            if known.dirty:
                self._flush(known)

    def _apply_additions(self) -> None:
        additions, self._additions = self._additions, {}
        for (table, column), changes in additions.items():
            known = self._of(table)
            self.load(table, [key for key, change in changes.items() if change])
            for key, change in changes.items():
                if change:
                    row = known.rows[key]
                    total = change + (row[column] if row is not None else 0)
                    values = dict(zip(known.key_names, key, strict=True)) | {column: total}
                    counters = {**(row or {}), **values}.items()
                    if any(value for name, value in counters if name not in known.key_names):
                        self.upsert(table, values)
                    else:  # a count of 0 is no row, as a rebuild that sums a batch's changes leaves it
                        self.delete(table, *key)

    def _flush(self, known: _Table) -> None:
        deletes: list[Key] = []
        inserts: list[Row] = []
        updates: list[Row] = []
        for key in known.dirty:
            row, stored = known.rows[key], known.stored.get(key, False)
            if row is None:
                if stored:
                    deletes.append(key)
            elif stored:
                updates.append(row)
            else:
                inserts.append(row)
        table, columns = known.table, known.key_columns
        if deletes:
            self.conn.execute(
                _delete_statement(table),
                [{f"k_{c.name}": value for c, value in zip(columns, key, strict=True)} for key in deletes],
            )
        if len(inserts) >= COPY_AT_LEAST and _copies(self.conn.dialect):
            self._copy(table, inserts)
        elif inserts:
            self.conn.execute(table.insert(), inserts)
        if updates:
            others = [column for column in table.columns if column not in columns]
            params = [
                {f"k_{c.name}": row[c.name] for c in columns} | {f"v_{c.name}": row[c.name] for c in others}
                for row in updates
            ]
            self.conn.execute(_update_statement(table), params)
        for key in known.dirty:
            known.stored[key] = known.rows[key] is not None
        known.dirty.clear()

    def _copy(self, table: sa.Table, inserts: list[Row]) -> None:
        translate = self.conn.get_execution_options().get("schema_translate_map") or {}
        plan = _copy_plan(table, translate.get(table.schema, table.schema), self.conn.dialect)
        text = io.StringIO()
        for row in inserts:
            text.write(plan.line(row))
        text.seek(0)
        statement = plan.statement
        dialect, driver = self.conn.dialect, self.conn.connection.dbapi_connection
        cursor: Any = self.conn.connection.cursor()
        try:
            cursor.copy_expert(statement, text, size=1 << 20)
        except dialect.loaded_dbapi.Error as error:
            # As SQLAlchemy treats a failed statement: its exception classes (a refused row is
            # an IntegrityError, a lost server an OperationalError) and a lost connection dropped.
            if dialect.is_disconnect(error, driver, cursor):
                self.conn.invalidate(error)
            raise sa.exc.DBAPIError.instance(statement, None, error, dialect.loaded_dbapi.Error) from error
        finally:
            cursor.close()

    def _of(self, table: sa.Table) -> _Table:
        known = self._tables.get(table.name)
        if known is None:
            known = self._tables[table.name] = _Table(table)
        return known


def _copies(dialect: sa.Dialect) -> bool:
    """Whether inserts can go as COPY: psycopg2, and no wait callback (psycogreen sets one in
    every Nameko service, and then psycopg2 raises "copy_expert cannot be used with an
    asynchronous callback" — every batch of `COPY_AT_LEAST` inserts would fail)."""
    if dialect.name != "postgresql" or dialect.driver != "psycopg2":
        return False
    from psycopg2.extensions import get_wait_callback

    return get_wait_callback() is None


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

COPY_NULL = "None"
"""How a NULL is written for `COPY` (its `NULL` option): what `str(None)` gives, so a row with
NULLs is written by one `str.join` in C like any other. The text "None" itself is written
escaped (`\\None`, which COPY reads back as "None": it compares the NULL text before it
removes backslashes)."""


def _escaped(value: Any) -> str:
    """One value of a line that needs escapes: NULL, the text "None", or text with a backslash,
    tab, newline or carriage return."""
    if value is None:
        return COPY_NULL
    text = str(value)
    return "\\None" if text == COPY_NULL else text.translate(_COPY_ESCAPES)


@dataclass(frozen=True)
class _CopyPlan:
    """How rows of one table are written for `COPY … FROM STDIN` (text format, `COPY_NULL`)."""

    statement: str
    names: tuple[str, ...]
    processors: tuple[tuple[int, Callable[[Any], Any]], ...]
    """The columns whose values the driver would convert first (index, conversion)."""
    values_of: Callable[[Row], tuple[Any, ...]] = field(init=False, repr=False, compare=False)
    template: str = field(init=False, repr=False, compare=False)
    """`%s` for each column, tab-separated, and the line's end: `%` formats a row's values in C,
    each as `str` gives it, at half the cost of `"\\t".join(map(str, values))`."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "values_of", _tuple_getter(self.names))
        object.__setattr__(self, "template", "\t".join(["%s"] * len(self.names)) + "\n")

    def line(self, row: Row) -> str:
        """`row` as one line: tab-separated, NULL as `COPY_NULL`, backslash, tab, newline and
        carriage return escaped (checked on the whole line at once: they are rare)."""
        values: tuple[Any, ...] = self.values_of(row)
        if self.processors:
            changed = list(values)
            for index, process in self.processors:
                changed[index] = process(changed[index])
            values = tuple(changed)
        line = self.template % values
        # Each separator brings one tab and the end one newline; any other, or anything to
        # escape, is in a value.
        if (
            line.count("\t") != len(values) - 1
            or line.count("\n") != 1
            or "\\" in line
            or "\r" in line
            or COPY_NULL in values
        ):
            line = "\t".join([_escaped(value) for value in values]) + "\n"
        return line


@cache
def _copy_plan(table: sa.Table, schema: str | None, dialect: sa.Dialect) -> _CopyPlan:
    quote = dialect.identifier_preparer.quote
    target = quote(table.name) if schema is None else f"{quote(schema)}.{quote(table.name)}"
    columns = ", ".join(quote(column.name) for column in table.columns)
    processors = []
    for index, column in enumerate(table.columns):
        process = column.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            processors.append((index, process))
    return _CopyPlan(
        f"COPY {target} ({columns}) FROM STDIN WITH (NULL '{COPY_NULL}')",
        tuple(column.name for column in table.columns),
        tuple(processors),
    )


def _tuple_getter(names: tuple[str, ...]) -> Callable[[Row], tuple[Any, ...]]:
    """A function from a row to the tuple of its values of `names` (in C: a replay calls it for
    every row it touches)."""
    if len(names) == 1:
        (name,) = names
        return lambda row: (row[name],)
    return itemgetter(*names)


def _key(key: Any) -> Key:
    return key if isinstance(key, tuple) else (key,)


def _default(column: sa.Column[Any]) -> Any:
    default = column.default
    if isinstance(default, sa.ColumnDefault) and default.is_scalar:
        return default.arg
    return None


# A table's statements, built once (building one cost about as much as running it).


def _by_key(table: sa.Table) -> list[sa.ColumnElement[bool]]:
    return [column == sa.bindparam(f"k_{column.name}") for column in table.primary_key.columns]


@cache
def _load_statement(table: sa.Table) -> sa.Select[Any]:
    """The rows of the keys in the parameter `keys` (values, or tuples for a composite key)."""
    columns = list(table.primary_key.columns)
    key = columns[0] if len(columns) == 1 else sa.tuple_(*columns)
    return sa.select(table).where(key.in_(sa.bindparam("keys", expanding=True)))


@cache
def _delete_statement(table: sa.Table) -> sa.Delete:
    return table.delete().where(*_by_key(table))


@cache
def _update_statement(table: sa.Table) -> sa.Update:
    """Every column but the key's, from `v_<column>`, where the key is `k_<column>`."""
    keys = set(table.primary_key.columns)
    setting: dict[str, Any] = {c.name: sa.bindparam(f"v_{c.name}") for c in table.columns if c not in keys}
    return table.update().where(*_by_key(table)).values(setting)
