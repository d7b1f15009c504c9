"""Shadow read models: projections rebuilt beside the live tables, then switched in at once.

A shadow holds the same tables as the live read model, plus its own `projection_checkpoints`
and `projection_parked`, so a build that is interrupted resumes from its own checkpoint.

- PostgreSQL: the shadow is a schema (`pishkhan_rebuild`) in the same database, written through
  SQLAlchemy's `schema_translate_map`, so table, index and constraint names stay the ones the
  code declares. The switch is one transaction: lock the live checkpoint (the service's runner
  waits), `DROP` each live table and `ALTER TABLE … SET SCHEMA` the shadow one in its place
  (indexes, constraints and sequences move with it), set the live checkpoint to the shadow's.
  DDL is transactional: readers keep reading the old table until the commit and then find the
  new one under the same name (a query queued on the lock resolves the name again).
- SQLite: the shadow is a file beside the live one (`<name>.rebuild.db`). SQLite cannot move a
  table between database files, so the switch copies: in one `BEGIN IMMEDIATE` on the live
  file, with the shadow attached, each live table is dropped, created anew and filled with
  `INSERT … SELECT`; WAL readers keep their snapshot of the old tables until the commit.

A projection that reads its tables by primary key only (`Projection.reads_by_key`) is built on
PostgreSQL without its other non-unique indexes: each row written would update every one of
them (the cartable has ten), while `CREATE INDEX` after the rows sorts each once.

After the switch the live checkpoint may be slightly *behind* where the live runner was: the
runner notices the moved checkpoint and applies the remaining events to the new tables.
"""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from infra.db import Database, is_sqlite, lock_schema
from infra.projections import Projection, checkpoints_table, parked_table, runner_metadata

SCHEMA_PREFIX = "pishkhan_"


class Shadow:
    """A scratch place, named `label`, beside the read-model database at `live_url`."""

    def __init__(self, live_url: str, label: str = "rebuild") -> None:
        self.live_url = live_url
        self.label = label
        self.sqlite = is_sqlite(live_url)
        if self.sqlite:
            live_path = Path(make_url(live_url).database or "")
            self.path: Path | None = live_path.with_name(f"{live_path.stem}.{label}{live_path.suffix}")
            self.schema: str | None = None
            self.db = Database(f"sqlite:///{self.path}")
        else:
            self.path = None
            self.schema = SCHEMA_PREFIX + label
            self.db = Database(live_url)
            with self.db.write.begin() as conn:
                lock_schema(conn)  # jobs started at once race on IF NOT EXISTS otherwise
                conn.execute(sa.text(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"'))
            translate = {None: self.schema}
            self._plain = self.db.write
            self.db.write = self.db.write.execution_options(schema_translate_map=translate)
            self.db.read = self.db.write

    def discard(self, projection: Projection) -> None:
        """Forget the shadow build of `projection`: its tables, checkpoint and parked events."""
        with self.db.write.begin() as conn:
            lock_schema(conn)
            for table in reversed(projection.metadata.sorted_tables):
                table.drop(conn, checkfirst=True)
            runner_metadata.create_all(conn)
            conn.execute(checkpoints_table.delete().where(checkpoints_table.c.name == projection.name))
            conn.execute(parked_table.delete().where(parked_table.c.projection == projection.name))

    def hold_back_indexes(self, projection: Projection) -> None:
        """Drop the shadow's non-unique secondary indexes of a projection that reads by key
        (PostgreSQL); `build_indexes` makes them before the switch."""
        with self.db.write.begin() as conn:
            for index in self._deferred(projection):
                conn.execute(sa.schema.DropIndex(index, if_exists=True))

    def build_indexes(self, projection: Projection) -> None:
        """Create the indexes `hold_back_indexes` dropped (those already there are kept)."""
        with self.db.write.begin() as conn:
            for index in self._deferred(projection):
                conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))

    def _deferred(self, projection: Projection) -> list[sa.Index]:
        if self.sqlite or not projection.reads_by_key:
            return []
        return [
            index
            for table in projection.metadata.sorted_tables
            for index in sorted(table.indexes, key=lambda index: str(index.name))
            if not index.unique
        ]

    def switch(self, projection: Projection, live: Database) -> int:
        """Put the shadow tables of `projection` in place of the live ones, atomically for
        readers; return the checkpoint the live read model continues from."""
        if self.sqlite:
            position = self._switch_sqlite(projection, live)
        else:
            position = self._switch_postgresql(projection, live)
        self.discard(projection)  # a leftover (crash right here) would only be rebuilt again
        return position

    def _switch_postgresql(self, projection: Projection, live: Database) -> int:
        shadow = f'"{self.schema}"'
        with live.write.begin() as conn:
            conn.execute(sa.text("SET LOCAL lock_timeout = '60s'"))
            target = f'"{conn.execute(sa.text("SELECT current_schema()")).scalar_one()}"'
            _lock_live_checkpoint(conn, projection)
            position = _shadow_checkpoint(conn, projection, shadow)
            for table in reversed(projection.metadata.sorted_tables):
                conn.execute(sa.text(f'DROP TABLE IF EXISTS {target}."{table.name}"'))
            for table in projection.metadata.sorted_tables:
                conn.execute(sa.text(f'ALTER TABLE {shadow}."{table.name}" SET SCHEMA {target}'))
            _adopt_checkpoint_and_parked(conn, projection, shadow, position)
        return position

    def _switch_sqlite(self, projection: Projection, live: Database) -> int:
        with live.write.connect() as conn:
            driver = conn.connection.driver_connection
            assert driver is not None
            # ATTACH is refused inside a transaction: run it before SQLAlchemy begins one.
            driver.execute("ATTACH DATABASE ? AS shadow", (str(self.path),))
            try:
                with conn.begin():
                    _lock_live_checkpoint(conn, projection)
                    position = _shadow_checkpoint(conn, projection, "shadow")
                    for table in reversed(projection.metadata.sorted_tables):
                        table.drop(conn, checkfirst=True)
                    for table in projection.metadata.sorted_tables:
                        table.create(conn)
                        conn.execute(
                            sa.text(f'INSERT INTO main."{table.name}" SELECT * FROM shadow."{table.name}"')
                        )
                    _adopt_checkpoint_and_parked(conn, projection, "shadow", position)
            finally:
                driver.execute("DETACH DATABASE shadow")
        return position

    def drop(self) -> None:
        """Remove the whole shadow (a scratch build for `verify`)."""
        if self.sqlite:
            self.db.dispose()
            assert self.path is not None
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return
        with self._plain.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{self.schema}" CASCADE'))
        self.dispose()

    def dispose(self) -> None:
        """Close the shadow's connections."""
        self.db.dispose()
        if not self.sqlite:
            self._plain.dispose()


def _lock_live_checkpoint(conn: sa.Connection, projection: Projection) -> None:
    """Hold the live checkpoint until commit: the service's runner waits instead of writing
    into tables that are about to be replaced (SQLite's writer already holds the whole file)."""
    query = sa.select(checkpoints_table.c.position).where(checkpoints_table.c.name == projection.name)
    if conn.dialect.name != "sqlite":
        query = query.with_for_update()
    conn.execute(query)


def _shadow_checkpoint(conn: sa.Connection, projection: Projection, shadow: str) -> int:
    value = conn.execute(
        sa.text(f"SELECT position FROM {shadow}.projection_checkpoints WHERE name = :name"),
        {"name": projection.name},
    ).scalar()
    if value is None:
        raise RuntimeError(f"{projection.name}: no shadow build to switch to")
    return int(value)


def _adopt_checkpoint_and_parked(
    conn: sa.Connection, projection: Projection, shadow: str, position: int
) -> None:
    conn.execute(
        checkpoints_table.update()
        .where(checkpoints_table.c.name == projection.name)
        .values(position=position)
    )
    conn.execute(parked_table.delete().where(parked_table.c.projection == projection.name))
    columns = "projection, position, event_id, event_type, error, attempts, parked_at"
    conn.execute(
        sa.text(
            f"INSERT INTO projection_parked ({columns}) SELECT {columns} FROM {shadow}.projection_parked "
            "WHERE projection = :name ORDER BY id"
        ),
        {"name": projection.name},
    )
