"""A PostgreSQL URL naming a primary and its standby reaches libpq whole, with the settings that
let a connection find the promoted standby (infra/db.py)."""

from __future__ import annotations

from typing import Any

import psycopg2
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from infra.db import FAILOVER_DEFAULTS, connect_arguments, listening_engine, make_engine

TWO_SERVERS = (
    "postgresql://pishkhan:secret@/pishkhan"
    "?host=pg-0.pg:5432&host=pg-1.pg:5433&target_session_attrs=read-write"
)


def libpq_arguments(engine: sa.Engine) -> dict[str, Any]:
    """What psycopg2.connect would be given for a new connection of `engine`."""
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    assert args == []
    return dict(kwargs)


def test_every_server_of_the_url_and_its_session_attribute_reach_libpq() -> None:
    engine = make_engine(TWO_SERVERS, pool_size=1)
    try:
        assert engine.url.drivername == "postgresql+psycopg2"
        kwargs = libpq_arguments(engine)
        assert kwargs["host"] == "pg-0.pg,pg-1.pg"
        assert kwargs["port"] == "5432,5433"
        assert kwargs["target_session_attrs"] == "read-write"
        assert kwargs["dbname"] == "pishkhan" and kwargs["user"] == "pishkhan"
    finally:
        engine.dispose()


def test_the_listening_connection_names_the_same_servers() -> None:
    engine = listening_engine(TWO_SERVERS)
    try:
        kwargs = libpq_arguments(engine)
        assert (kwargs["host"], kwargs["port"]) == ("pg-0.pg,pg-1.pg", "5432,5433")
        assert kwargs["target_session_attrs"] == "read-write"
    finally:
        engine.dispose()


def test_a_connection_gives_up_on_a_silent_server_and_is_named() -> None:
    arguments = connect_arguments(make_url(TWO_SERVERS), "store")
    assert arguments["connect_timeout"] == FAILOVER_DEFAULTS["connect_timeout"]
    assert arguments["keepalives"] == "1"
    assert arguments["application_name"].startswith("pishkhan-") and arguments["application_name"].endswith(
        "-store"
    )


def test_what_the_url_says_wins_over_the_defaults() -> None:
    url = make_url(TWO_SERVERS + "&connect_timeout=2&application_name=ops&keepalives_idle=60")
    arguments = connect_arguments(url, "store")
    assert "connect_timeout" not in arguments
    assert "application_name" not in arguments
    assert "keepalives_idle" not in arguments
    assert arguments["keepalives_count"] == FAILOVER_DEFAULTS["keepalives_count"]


def test_libpq_accepts_every_default() -> None:
    # A misspelt keyword fails before any server is tried; a valid one fails on the address.
    with pytest.raises(psycopg2.OperationalError) as refused:
        psycopg2.connect(host="127.0.0.1", port="1", dbname="x", **FAILOVER_DEFAULTS)
    assert "invalid connection option" not in str(refused.value)
