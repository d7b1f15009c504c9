"""What the fault tests found: a database that is away is answered "try again later", not as an
internal error; a reply lost with the broker does not end the service's process."""

from __future__ import annotations

from typing import Any

import kombu.exceptions
import sqlalchemy as sa

from infra.nameko_glue import Rpc, replies


def test_a_transient_database_failure_is_answered_as_service_unavailable() -> None:
    @replies
    def submit() -> dict[str, Any]:
        raise sa.exc.OperationalError("INSERT …", {}, ConnectionRefusedError("connection refused"))

    assert submit()["error"]["code"] == "service_unavailable"


class _BrokerGone:
    def handle_result(self, message: object, result: object, exc_info: object) -> tuple[object, object]:
        raise kombu.exceptions.OperationalError("[Errno 111] ECONNREFUSED")


def test_a_reply_lost_with_the_broker_does_not_end_the_service() -> None:
    entrypoint = Rpc()
    entrypoint.method_name = "submit"
    entrypoint.rpc_consumer = _BrokerGone()
    assert entrypoint.handle_result(object(), None, {"ok": True}, None) == ({"ok": True}, None)
