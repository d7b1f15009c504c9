"""A throw-away RabbitMQ virtual host on the machine's broker, so tests never meet a running desk."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import kombu

BROKER = os.environ.get("TEST_AMQP_HOST", "127.0.0.1:5672")


def rabbit_available() -> str | None:
    """None when RabbitMQ answers and `rabbitmqctl` can create hosts, else why not."""
    if shutil.which("rabbitmqctl") is None:
        return "rabbitmqctl is not on PATH"
    try:
        with kombu.Connection(f"pyamqp://guest:guest@{BROKER}//", connect_timeout=3) as conn:
            conn.connect()
    except Exception as error:  # noqa: BLE001 - becomes the skip reason
        return f"RabbitMQ at {BROKER} does not answer: {error}"
    return None


def _ctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def scratch_vhost() -> Iterator[str]:
    """Create a vhost for guest, yield its AMQP URI, delete it afterwards."""
    name = f"pishkhan_test_{uuid.uuid4().hex[:10]}"
    _ctl("add_vhost", name)
    _ctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
    try:
        yield f"pyamqp://guest:guest@{BROKER}/{name}"
    finally:
        _ctl("delete_vhost", name)
