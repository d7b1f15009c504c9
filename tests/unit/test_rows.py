"""`infra.rows.Rows`: a batch's changes in memory leave the tables as statement-by-statement
changes would, in a few statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.dialects import postgresql

from infra.rows import COPY_AT_LEAST, DuplicateRow, Rows, _copy_plan, _escaped
from tests.pg import required_database

metadata = sa.MetaData()
people = sa.Table(
    "people",
    metadata,
    sa.Column("person_id", sa.String(10), primary_key=True),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("visits", sa.Integer, nullable=False, default=0),
    sa.Column("note", sa.Text),
)
links = sa.Table(
    "links",
    metadata,
    sa.Column("unit", sa.String(10), primary_key=True),
    sa.Column("person_id", sa.String(10), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
)
tallies = sa.Table(
    "tallies",
    metadata,
    sa.Column("unit", sa.String(10), primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),
    sa.Column("requests", sa.Integer, nullable=False),
)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)])
def engine(request: pytest.FixtureRequest) -> Iterator[sa.Engine]:
    """The same tables on SQLite and on PostgreSQL."""
    with ExitStack() as stack:
        url = "sqlite://" if request.param == "sqlite" else stack.enter_context(required_database())
        engine = _filled(sa.create_engine(url))
        yield engine
        engine.dispose()


def _filled(engine: sa.Engine) -> sa.Engine:
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(people.insert(), [{"person_id": "p1", "name": "Sara", "visits": 1}])
        conn.execute(links.insert(), [{"unit": "u1", "person_id": "p1", "position": 1}])
    return engine


def _table(conn: sa.Connection, table: sa.Table) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in conn.execute(sa.select(table).order_by(*table.primary_key.columns))]


def _counting(engine: sa.Engine) -> list[str]:
    statements: list[str] = []
    sa.event.listen(engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    return statements


def test_changes_stay_in_memory_until_flushed_then_land_in_one_statement_per_kind(engine: sa.Engine) -> None:
    statements = _counting(engine)
    with engine.begin() as conn:
        rows = Rows(conn)
        rows.load(people, ["p1", "p2", "p3"])
        for n in range(2, 40):
            rows.insert(people, {"person_id": f"n{n}", "name": f"new {n}"})
        for _ in range(5):
            visits = rows.get(people, "p1")
            assert visits is not None
            rows.update(people, "p1", {"visits": visits["visits"] + 1})
        assert len(statements) == 1  # the load; nothing written yet
        assert _table(conn, people)[0]["visits"] == 1
        del statements[:]
        rows.flush()
        assert [s.split()[0] for s in statements] == ["INSERT", "UPDATE"]  # 38 rows, then 1
        stored = _table(conn, people)
    assert len(stored) == 39
    assert [r for r in stored if r["person_id"] == "p1"] == [
        {"person_id": "p1", "name": "Sara", "visits": 6, "note": None}
    ]
    assert {r["visits"] for r in stored if r["person_id"] != "p1"} == {0}  # the column's default


def test_an_update_or_delete_of_a_missing_row_changes_nothing(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        rows = Rows(conn)
        assert rows.update(people, "nobody", {"name": "x"}) is None
        rows.delete(people, "nobody")
        rows.flush()
        assert [r["person_id"] for r in _table(conn, people)] == ["p1"]


def test_delete_then_insert_of_the_same_key_replaces_the_row(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        rows = Rows(conn)
        rows.delete(links, "u1", "p1")
        rows.insert(links, {"unit": "u1", "person_id": "p1", "position": 7})
        rows.insert(links, {"unit": "u2", "person_id": "p1", "position": 8})
        rows.flush()
        assert _table(conn, links) == [
            {"unit": "u1", "person_id": "p1", "position": 7},
            {"unit": "u2", "person_id": "p1", "position": 8},
        ]


def test_insert_then_delete_in_one_batch_writes_nothing(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        rows = Rows(conn)
        rows.insert(people, {"person_id": "p9", "name": "brief"})
        rows.delete(people, "p9")
        rows.delete(people, "p1")
        rows.flush()
        assert _table(conn, people) == []


def test_a_known_row_is_not_inserted_twice_and_the_database_refuses_an_unknown_one(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        rows = Rows(conn)
        rows.load(people, ["p1"])
        with pytest.raises(DuplicateRow):
            rows.insert(people, {"person_id": "p1", "name": "again"})
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        rows = Rows(conn)
        rows.insert(people, {"person_id": "p1", "name": "not loaded, so the flush finds out"})
        rows.flush()


class _Visit:
    def __init__(self, person_id: str | None) -> None:
        self.person_id = person_id


class _Arrival(_Visit):
    """Creates the person's row."""


def test_rows_a_batch_creates_are_not_read_and_a_creation_of_an_existing_row_is_refused(
    engine: sa.Engine,
) -> None:
    statements = _counting(engine)
    with engine.begin() as conn:
        rows = Rows(conn)
        events = [_Arrival("p2"), _Visit("p2"), _Visit("p1"), _Arrival("p3"), _Visit(None), _Visit("p4")]
        rows.load_for(people, events, lambda e: e.person_id, _Arrival)
        selects = [s for s in statements if s.upper().startswith("SELECT")]
        assert len(selects) == 1 and "p2" not in str(selects)  # p1 and p4 only, in one query
        assert rows.get(people, "p1") is not None and rows.get(people, "p4") is None
        assert rows.get(people, "p2") is None and rows.get(people, "p3") is None
        assert len([s for s in statements if s.upper().startswith("SELECT")]) == 1  # no more reads
        rows.insert(people, {"person_id": "p2", "name": "Reza"})
        rows.flush()
        assert [r["person_id"] for r in _table(conn, people)] == ["p1", "p2"]
    with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
        rows = Rows(conn)
        rows.load_for(people, [_Arrival("p1")], lambda e: e.person_id, _Arrival)  # p1 exists after all
        rows.insert(people, {"person_id": "p1", "name": "again"})
        rows.flush()
    with engine.connect() as conn:
        assert [r["name"] for r in _table(conn, people)] == ["Sara", "Reza"]


def test_a_column_the_table_lacks_or_a_key_change_is_refused(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        rows = Rows(conn)
        with pytest.raises(KeyError):
            rows.insert(people, {"person_id": "p5", "name": "x", "age": 3})
        with pytest.raises(KeyError):
            rows.update(people, "p1", {"age": 3})
        with pytest.raises(ValueError):
            rows.update(people, "p1", {"person_id": "p6"})
        with pytest.raises(ValueError):
            rows.insert(people, {"name": "no key"})


def test_sql_flushes_first_so_other_queries_see_the_batch(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        rows = Rows(conn)
        rows.upsert(people, {"person_id": "p1", "name": "Sara", "note": "changed"})
        rows.upsert(people, {"person_id": "p2", "name": "Reza"})
        count = rows.sql().execute(sa.select(sa.func.count()).where(people.c.note == "changed")).scalar()
        assert count == 1
        assert len(_table(conn, people)) == 2


def test_counters_are_summed_and_their_rows_read_in_one_query_when_flushed(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(tallies.insert(), [{"unit": "u1", "day": "d1", "requests": 5}])
    statements = _counting(engine)
    with engine.begin() as conn:
        rows = Rows(conn)
        for key, change in [(("u1", "d1"), 1), (("u1", "d1"), 1), (("u2", "d1"), 3), (("u2", "d1"), -1)]:
            rows.add(tallies, key, "requests", change)
        rows.add(tallies, ("u3", "d1"), "requests", 1)
        rows.add(tallies, ("u3", "d1"), "requests", -1)  # nets to nothing: never read nor written
        assert statements == []
        rows.flush()
        assert [s.split()[0].upper() for s in statements] == ["SELECT", "INSERT", "UPDATE"]
        rows.add(tallies, ("u2", "d1"), "requests", -2)  # a second flush starts from what the first wrote
        rows.flush()
        assert _table(conn, tallies) == [{"unit": "u1", "day": "d1", "requests": 7}]


def test_a_counter_that_comes_to_zero_leaves_no_row_as_one_batch_summing_the_same_changes(
    engine: sa.Engine,
) -> None:
    changes = [(("u1", "d1"), 1), (("u1", "d1"), -1), (("u2", "d1"), 2), (("u2", "d1"), -1)]
    with engine.begin() as conn:  # live: one batch an event
        for key, change in changes:
            rows = Rows(conn)
            rows.add(tallies, key, "requests", change)
            rows.flush()
        live = _table(conn, tallies)
        conn.execute(tallies.delete())
        rows = Rows(conn)  # a rebuild: one batch of every event
        for key, change in changes:
            rows.add(tallies, key, "requests", change)
        rows.flush()
        assert live == _table(conn, tallies) == [{"unit": "u2", "day": "d1", "requests": 1}]


def test_rows_returned_are_copies(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        rows = Rows(conn)
        row = rows.get(people, "p1")
        assert row is not None
        row["name"] = "changed by the caller"
        assert rows.get(people, "p1") == {"person_id": "p1", "name": "Sara", "visits": 1, "note": None}


AWKWARD = [
    "it's 50% done",
    "سلام، «دنیا»",
    'a "quoted" \\ back',
    "tab\there, line\nthere\r\n",
    "\\N",  # the text, not NULL
    "None",  # the text, not NULL (COPY writes NULL so)
    "\\None",
    "",
    None,
]
flags = sa.Table(
    "flags",
    metadata,
    sa.Column("flag_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("on", sa.Boolean, nullable=False),
    sa.Column("label", sa.String(12), unique=True),
)


@pytest.mark.integration
@pytest.mark.parametrize("count", [len(AWKWARD), COPY_AT_LEAST + 3], ids=["insert", "copy"])
def test_on_postgresql_any_text_lands_in_a_translated_schema_and_what_the_table_refuses_is_refused(
    count: int,
) -> None:
    with required_database() as url:
        plain = sa.create_engine(url)
        with plain.begin() as conn:
            conn.execute(sa.text('CREATE SCHEMA "elsewhere"'))
        engine = plain.execution_options(schema_translate_map={None: "elsewhere"})
        notes = [AWKWARD[n % len(AWKWARD)] for n in range(count)]
        try:
            metadata.create_all(engine)
            statements = _counting(plain)
            with engine.begin() as conn:
                rows = Rows(conn)
                for n, note in enumerate(notes):
                    # a backslash beside a NULL in one row, too
                    rows.insert(people, {"person_id": f"p{n:03d}", "name": f"n\\{n}", "note": note})
                    rows.insert(flags, {"flag_id": n, "on": n % 2 == 0, "label": f"f{n}"})
                rows.flush()
                inserts = [s for s in statements if s.startswith("INSERT")]
                assert len(inserts) == (0 if count >= COPY_AT_LEAST else 2)  # else: COPY
                assert [
                    (r["person_id"], r["name"], r["note"], r["visits"]) for r in _table(conn, people)
                ] == [(f"p{n:03d}", f"n\\{n}", note, 0) for n, note in enumerate(notes)]
                assert [r["on"] for r in _table(conn, flags)] == [n % 2 == 0 for n in range(count)]
                for n, note in enumerate(reversed(notes)):
                    rows.update(people, f"p{n:03d}", {"note": note, "visits": n})
                rows.delete(people, "p000")
                rows.flush()
                assert [(r["person_id"], r["note"], r["visits"]) for r in _table(conn, people)] == [
                    (f"p{n:03d}", note, n) for n, note in enumerate(reversed(notes)) if n
                ]
            with plain.connect() as conn:  # written to the translated schema only
                assert conn.execute(sa.text('SELECT count(*) FROM "elsewhere".people')).scalar() == count - 1
                assert not sa.inspect(conn).has_table("people")
            too_long = "a name longer than fifty characters, which the column refuses"
            with pytest.raises(sa.exc.DataError), engine.begin() as conn:
                rows = Rows(conn)
                for n in range(count):
                    rows.insert(people, {"person_id": f"q{n:03d}", "name": too_long if n == 3 else "ok"})
                rows.flush()
            with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
                rows = Rows(conn)
                for n in range(count):  # the fourth takes another row's unique label
                    rows.insert(
                        flags, {"flag_id": 1000 + n, "on": True, "label": "f1" if n == 3 else f"g{n}"}
                    )
                rows.flush()
            with engine.connect() as conn:  # nothing of the refused batches
                assert len(_table(conn, people)) == count - 1 and len(_table(conn, flags)) == count
        finally:
            plain.dispose()


@pytest.mark.integration
def test_on_postgresql_a_copy_on_a_lost_connection_raises_operational_error_and_drops_it() -> None:
    with required_database() as url:
        engine = _filled(sa.create_engine(url))
        try:
            with pytest.raises(sa.exc.OperationalError), engine.connect() as conn:
                backend = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar_one()
                with engine.connect() as other:
                    other.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": backend})
                rows = Rows(conn)
                for n in range(COPY_AT_LEAST):
                    rows.insert(people, {"person_id": f"x{n}", "name": "lost"})
                try:
                    rows.flush()
                finally:
                    assert conn.invalidated  # not handed back to the pool
            with engine.connect() as conn:
                assert [r["person_id"] for r in _table(conn, people)] == ["p1"]
        finally:
            engine.dispose()


@pytest.mark.integration
def test_on_postgresql_many_inserts_land_inside_a_green_service_too() -> None:
    """Services wait on psycopg2 through psycogreen's callback, which refuses COPY: a batch of
    many inserts there must still land (it failed, and fell back to one event at a time)."""
    from psycogreen.eventlet import patch_psycopg
    from psycopg2.extensions import get_wait_callback, set_wait_callback

    assert get_wait_callback() is None
    with required_database() as url:
        engine = _filled(sa.create_engine(url))
        patch_psycopg()
        try:
            statements = _counting(engine)
            with engine.begin() as conn:
                rows = Rows(conn)
                for n in range(COPY_AT_LEAST + 3):
                    rows.insert(people, {"person_id": f"g{n:03d}", "name": f"n{n}"})
                rows.flush()
            assert [s for s in statements if s.startswith("INSERT")]  # not a COPY
            with engine.connect() as conn:
                assert len(_table(conn, people)) == COPY_AT_LEAST + 4
        finally:
            set_wait_callback(None)
            engine.dispose()


_COPY_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.text(alphabet=st.sampled_from(["a", "ی", "\t", "\n", "\r", "\\", "N", "o", "e", " ", "%", "s"])),
    st.sampled_from(["None", "\\None", "%s", "%%"]),
)


@given(st.lists(_COPY_VALUES, min_size=4, max_size=4))
def test_a_copy_line_is_each_value_as_str_gives_it_escaped_where_copy_needs_it(values: list[Any]) -> None:
    table = sa.Table("anything", sa.MetaData(), *(sa.Column(f"c{n}", sa.Text) for n in range(4)))
    plan = _copy_plan(table, None, postgresql.psycopg2.dialect())
    row = {f"c{n}": value for n, value in enumerate(values)}
    assert plan.line(row) == "\t".join(_escaped(value) for value in values) + "\n"
    assert plan.line(row).count("\n") == 1
