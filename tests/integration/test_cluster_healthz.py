"""The probe wrapper the cluster manifests use: liveness, readiness over RPC, clean shutdown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from deploy.run import ROOT
from tests.desk import DATABASE_VARIABLES, free_port
from tests.rabbit import rabbit_available, scratch_vhost

pytestmark = pytest.mark.integration


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def test_a_service_under_the_probe_wrapper_is_live_then_ready_and_stops_on_sigterm(tmp_path: Path) -> None:
    reason = rabbit_available()
    if reason is not None:
        pytest.fail(f"this test needs the machine's RabbitMQ: {reason}")
    port = free_port()
    with scratch_vhost() as amqp_uri, open(tmp_path / "survey.log", "wb") as log:
        env = {k: v for k, v in os.environ.items() if k not in DATABASE_VARIABLES}
        env.update(AMQP_URI=amqp_uri, PISHKHAN_VAR=str(tmp_path))
        wrapper = subprocess.Popen(
            [sys.executable, "-m", "deploy.healthz", "survey", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while status(base + "/healthz?ready=1") != 200:
                assert wrapper.poll() is None, (tmp_path / "survey.log").read_text()
                assert time.monotonic() < deadline, "not ready in 60s"
                time.sleep(0.3)
            assert status(base + "/healthz") == 200
            assert status(base + "/elsewhere") == 404
            wrapper.send_signal(signal.SIGTERM)
            assert wrapper.wait(timeout=30) in (0, -signal.SIGTERM)
        finally:
            if wrapper.poll() is None:
                wrapper.kill()
                wrapper.wait()
