"""PostgreSQL: an append's write in one statement, `es_append`, so the store-wide append lock is
held on the server for that statement and its commit only.

The store decides an append (expected versions, idempotency, revisions, the hash chain) from
the streams' rows read without the lock, then calls `es_append` in autocommit mode. The
function takes the lock, checks that none of those rows changed and none of the event ids was
stored meanwhile, numbers the events after the last position, inserts them, updates the
streams and queues the commit's NOTIFY. If something changed it writes nothing and answers
NULL: the store reads and decides again.

Why: taken by the client, the lock stayed held across the six round trips of an append, each
waiting for its turn in a busy service's green threads. Measured at 60 submissions/s: the lock
was held 87 % of the time, 32 ms per commit (p50), and was what the desk queued on.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from infra import jsontext
from infra.eventstore.schema import (
    ANY_TYPE_CHANNEL,
    APPEND_LOCK_KEY,
    CHANNEL_BYTES,
    NOTIFY_CHANNEL,
    TYPE_CHANNEL_PREFIX,
    events_table,
)

_DECLARE = """\
CREATE OR REPLACE FUNCTION es_append(new_events json, expected json, new_streams json, notice text)
RETURNS bigint LANGUAGE plpgsql AS $fn$
DECLARE
  first_position bigint;
  wanted record;
  stored record;
"""
"""The function's signature and the variables every version declares."""

_CHECK_STREAMS = """\
  -- Row by row through the primary keys: a join with the JSON rows was planned as a scan of
  -- the whole table (the function's plans are generic), 38 % of the server's time at 100/s.
  FOR wanted IN
    SELECT * FROM json_to_recordset(expected)
      AS e(stream text, version bigint, deleted boolean, truncate_before bigint, last_hash text)
  LOOP
    SELECT s.version, s.deleted, s.truncate_before, s.last_hash INTO stored
      FROM es_streams s WHERE s.stream = wanted.stream;
    IF NOT FOUND THEN
      IF wanted.version IS NOT NULL THEN
        RETURN NULL;
      END IF;
    ELSIF stored.version IS DISTINCT FROM wanted.version
       OR stored.deleted IS DISTINCT FROM wanted.deleted
       OR stored.truncate_before IS DISTINCT FROM wanted.truncate_before
       OR stored.last_hash IS DISTINCT FROM wanted.last_hash THEN
      RETURN NULL;
    END IF;
  END LOOP;
"""
"""Under the lock: NULL unless every stream still reads as `expected` says."""

_WRITE_STREAMS = f"""\
  INSERT INTO es_streams (stream, version, deleted, truncate_before, last_hash)
  SELECT n.stream, n.version, n.deleted, n.truncate_before, n.last_hash
    FROM json_to_recordset(new_streams)
         AS n(stream text, version bigint, deleted boolean, truncate_before bigint, last_hash text)
  ON CONFLICT (stream) DO UPDATE
     SET version = excluded.version, deleted = excluded.deleted,
         truncate_before = excluded.truncate_before, last_hash = excluded.last_hash;
  PERFORM pg_notify('{NOTIFY_CHANNEL}', first_position::text || notice);
  RETURN first_position;
END
$fn$
"""
"""Under the lock, after the events: the streams' new states, the NOTIFY, the first position."""

APPEND_FUNCTION_V4 = f"""
DO $types$ BEGIN
  CREATE TYPE es_new_event AS (offset_in_commit bigint, event_id text, stream text, revision bigint,
                               type text, version integer, data text, metadata text,
                               correlation_id text, causation_id text, hash text);
EXCEPTION WHEN duplicate_object THEN NULL;
END $types$;

{_DECLARE}  parsed es_new_event[];
BEGIN
  -- Before the lock: read the events and look for their ids. An id stored after this look
  -- fails the insert on the unique index, which the caller reads as "changed", like NULL.
  SELECT array_agg(r ORDER BY r.offset_in_commit) INTO parsed
    FROM json_populate_recordset(NULL::es_new_event, new_events) AS r;
  IF EXISTS (
    SELECT 1 FROM es_events WHERE event_id = ANY (ARRAY(SELECT p.event_id FROM unnest(parsed) AS p))
  ) THEN
    RETURN NULL;
  END IF;
  PERFORM pg_advisory_xact_lock({APPEND_LOCK_KEY});
{_CHECK_STREAMS}  SELECT coalesce(max(position), 0) + 1 INTO first_position FROM es_events;
  INSERT INTO es_events (position, event_id, stream, revision, type, version, data, metadata,
                         correlation_id, causation_id, recorded_at, hash)
  SELECT first_position + p.offset_in_commit, p.event_id, p.stream, p.revision, p.type, p.version,
         p.data, p.metadata, p.correlation_id, p.causation_id,
         to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), p.hash
    FROM unnest(parsed) AS p;
{_WRITE_STREAMS}"""
"""Schema version 4: the events are read from their JSON, and their ids looked for, before the
lock is taken (at ~220 submissions/s the lock was held ~90 % of the time, the id look-up the
largest part of it). Version 3's text stays below and renders exactly as released (the
fragments both share are the text it had)."""

_NOTIFY = f"  PERFORM pg_notify('{NOTIFY_CHANNEL}', first_position::text || notice);\n"
_NOTIFY_EACH_TYPE = f"""{_NOTIFY}  PERFORM pg_notify(c.channel, first_position::text || notice)
     FROM (SELECT DISTINCT
                  CASE WHEN t.name = '*' OR octet_length('{TYPE_CHANNEL_PREFIX}' || t.name) > {CHANNEL_BYTES}
                       THEN '{ANY_TYPE_CHANNEL}' ELSE '{TYPE_CHANNEL_PREFIX}' || t.name END AS channel
             FROM unnest(string_to_array(split_part(notice, ':', 3), ',')) AS t(name)) AS c;
"""
assert APPEND_FUNCTION_V4.count(_NOTIFY) == 1
APPEND_FUNCTION_V5 = APPEND_FUNCTION_V4.replace(_NOTIFY, _NOTIFY_EACH_TYPE)
"""Schema version 5: version 4, and the commit is also told on a channel per event type it
holds (`schema.type_channel`), so that a service waiting for some types hears nothing of the
others' commits (each heard commit cost every service a wake-up of its listener and runner)."""

_LANGUAGE = "LANGUAGE plpgsql AS $fn$"
assert APPEND_FUNCTION_V5.count(_LANGUAGE) == 1
APPEND_FUNCTION_V6 = APPEND_FUNCTION_V5.replace(
    _LANGUAGE, "LANGUAGE plpgsql SET enable_seqscan = off AS $fn$"
)
"""Schema version 6: version 5, planned never to scan a table. Every look-up in the function
is by a key, but a session keeps the function's plans, made while the store was nearly empty:
the event-id look-up stayed a scan of all events until the table was next analysed (rows read a
submission under load: 3,849 before, 23 after, `bench.saturation`)."""

_NUMBER_AND_INSERT = """\
  SELECT coalesce(max(position), 0) + 1 INTO first_position FROM es_events;
  INSERT INTO es_events (position, event_id, stream, revision, type, version, data, metadata,
                         correlation_id, causation_id, recorded_at, hash)
  SELECT first_position + p.offset_in_commit, p.event_id, p.stream, p.revision, p.type, p.version,
         p.data, p.metadata, p.correlation_id, p.causation_id,
         to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), p.hash
    FROM unnest(parsed) AS p;
"""
_NUMBER_CHAIN_AND_INSERT = """\
  SELECT coalesce(max(position), 0) + 1 INTO first_position FROM es_events;
  -- The store-wide chain (infra/ops/hashchain.py `ledger_link`): each event's link covers its
  -- position, its stream-chain hash and the link of the event before it in `$all`.
  SELECT chain INTO previous_link FROM es_events WHERE position = first_position - 1;
  FOR i IN 1 .. coalesce(array_length(parsed, 1), 0) LOOP
    previous_link := encode(sha256(convert_to(
      coalesce(previous_link, '') || ':' || (first_position + (parsed[i]).offset_in_commit)::text
      || ':' || coalesce((parsed[i]).hash, ''), 'UTF8')), 'hex');
    links := links || previous_link;
  END LOOP;
  INSERT INTO es_events (position, event_id, stream, revision, type, version, data, metadata,
                         correlation_id, causation_id, recorded_at, hash, chain)
  SELECT first_position + p.offset_in_commit, p.event_id, p.stream, p.revision, p.type, p.version,
         p.data, p.metadata, p.correlation_id, p.causation_id,
         to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), p.hash,
         links[p.offset_in_commit + 1]
    FROM unnest(parsed) AS p;
"""
_PARSED = "  parsed es_new_event[];\n"
assert APPEND_FUNCTION_V6.count(_NUMBER_AND_INSERT) == 1 and APPEND_FUNCTION_V6.count(_PARSED) == 1
APPEND_FUNCTION = APPEND_FUNCTION_V6.replace(_NUMBER_AND_INSERT, _NUMBER_CHAIN_AND_INSERT).replace(
    _PARSED, _PARSED + "  previous_link text;\n  links text[] := ARRAY[]::text[];\n"
)
"""Schema version 7: version 6, and each event gets its link in the store-wide chain, computed
under the lock from the link of the event before it (one more look-up by key), so that an event
deleted, cut or moved anywhere in `$all` breaks the chain (`pishkhan integrity`)."""

APPEND_FUNCTION_V3 = f"""
{_DECLARE}BEGIN
  PERFORM pg_advisory_xact_lock({APPEND_LOCK_KEY});
{_CHECK_STREAMS}  IF EXISTS (
    SELECT 1 FROM es_events
     WHERE event_id = ANY (ARRAY(SELECT r.event_id FROM json_to_recordset(new_events) AS r(event_id text)))
  ) THEN
    RETURN NULL;
  END IF;
  SELECT coalesce(max(position), 0) + 1 INTO first_position FROM es_events;
  INSERT INTO es_events (position, event_id, stream, revision, type, version, data, metadata,
                         correlation_id, causation_id, recorded_at, hash)
  SELECT first_position + r.offset_in_commit, r.event_id, r.stream, r.revision, r.type, r.version,
         r.data, r.metadata, r.correlation_id, r.causation_id,
         to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"'), r.hash
    FROM json_to_recordset(new_events)
         AS r(offset_in_commit bigint, event_id text, stream text, revision bigint, type text,
              version integer, data text, metadata text, correlation_id text, causation_id text,
              hash text)
   ORDER BY r.offset_in_commit;
{_WRITE_STREAMS}"""

_CALL = (
    "SELECT es_append(CAST(%(events)s AS json), CAST(%(expected)s AS json),"
    " CAST(%(streams)s AS json), %(notice)s)"
)
"""The call, in the driver's own parameter style: it goes to the driver as it is (see `_scalar`)."""
_EVENT_FIELDS = tuple(
    c.name for c in events_table.columns if c.name not in ("position", "recorded_at", "chain")
)
"""What `es_append` takes of each event row (it numbers, timestamps and links them itself)."""


def append_at_once(
    conn: sa.Connection,
    rows: Sequence[dict[str, Any]],
    expected: Sequence[dict[str, Any]],
    streams: Sequence[dict[str, Any]],
) -> int | None:
    """Write `rows` (their `position` counts from 0 within this commit) and the streams' new
    states, if each stream in `expected` still reads as given there (a stream without a row:
    every field None) and no row's event id is stored yet. The first position written, or None
    when something changed (nothing is written then). `conn` must be in autocommit mode."""
    events = [{"offset_in_commit": row["position"]} | {f: row[f] for f in _EVENT_FIELDS} for row in rows]
    types = ",".join(sorted({row["type"] for row in rows}))
    notice = f":{len(rows)}:{types if len(types) < 6000 else '*'}"
    values = {"events": _dumps(events), "expected": _dumps(expected), "streams": _dumps(streams)}
    try:
        first = _scalar(conn, _CALL, values | {"notice": notice})
    except sa.exc.IntegrityError:
        return None  # an event id (or a stream's revision) stored since the look: decide again
    return None if first is None else int(first)


def _scalar(conn: sa.Connection, statement: str, params: dict[str, Any]) -> Any:
    """The first column of the one row `statement` answers (`driver_cursor`)."""
    cursor = driver_cursor(conn, statement, params)
    try:
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else row[0]


def driver_cursor(conn: sa.Connection, statement: str, params: dict[str, Any]) -> Any:
    """A psycopg2 cursor that ran `statement` (psycopg2's own `%(name)s` form) on `conn`'s
    driver connection; the caller reads and closes it. psycopg2 holds every row once `execute`
    returns, so reading them raises nothing from the server.

    For the statements every append, every session's request and every catch-up page make:
    SQLAlchemy's way to a statement (its execution context, result metadata and cursor wrapper)
    cost the client as much CPU again as the driver's own (~100 against ~50 µs a call, measured
    in one process). A driver error still reaches the caller as SQLAlchemy raises it
    (`IntegrityError`, `OperationalError`, …), and a connection lost on the way is invalidated
    as SQLAlchemy does, so the pool never hands it out again."""
    cursor = None
    try:
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(statement, params)
    except Exception as error:
        conn._handle_dbapi_exception(error, statement, params, cursor, None)  # raises it, wrapped
        raise
    return cursor


def _dumps(value: Any) -> str:
    return jsontext.compact(value)
