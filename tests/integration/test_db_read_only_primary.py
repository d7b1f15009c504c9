"""A pooled connection whose server no longer takes writes (a former primary come back as a
standby) is dropped, and the caller gets a failure it may retry, not an error of ours."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from infra.db import make_engine

pytestmark = pytest.mark.integration


def test_a_write_refused_as_read_only_is_a_lost_primary(scratch_pg_url: str) -> None:
    url = make_url(scratch_pg_url).update_query_dict({"options": "-c default_transaction_read_only=on"})
    engine = make_engine(url.render_as_string(hide_password=False), pool_size=1)
    try:
        with engine.connect() as conn:
            before = conn.connection.dbapi_connection
            with pytest.raises(sa.exc.OperationalError) as refused:
                conn.execute(sa.text("CREATE TABLE refused (x int)"))
        assert refused.value.connection_invalidated
        assert getattr(refused.value.orig, "pgcode", None) == "25006"
        with engine.connect() as conn:  # the pool made a new connection
            assert conn.connection.dbapi_connection is not before
            assert conn.execute(sa.text("SELECT 1")).scalar_one() == 1
    finally:
        engine.dispose()
