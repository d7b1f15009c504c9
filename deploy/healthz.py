"""Run one Nameko service with an HTTP `/healthz` beside it, for container probes.

    python -m deploy.healthz SERVICE [--port 8080]

`/healthz` (liveness) answers 200 while the service's process runs. `/healthz?ready=1`
(readiness) also needs the service to answer `ping` over RabbitMQ within 3 s: with several
replicas any one of them may answer, which is what a caller of the service experiences too.
One RPC proxy is kept and used by one probe at a time (a proxy shared between threads
deadlocks; one per probe would leave a reply queue behind each time). With a cluster's nodes in
`AMQP_URI` (`;`-separated), the proxy started after a failed probe connects to the first node
that answers: a dead RabbitMQ node makes one probe fail, not the service unready.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from deploy.run import ROOT, service_command
from infra.settings import CommonSettings


class Probe:
    """The child process and a lazily started RPC proxy to ping it."""

    def __init__(self, service: str, child: subprocess.Popen[bytes]) -> None:
        self.service, self.child = service, child
        self._lock = threading.Lock()
        self._proxy: Any = None
        self._cluster: Any = None

    def alive(self) -> bool:
        """True while the service's process runs."""
        return self.child.poll() is None

    def ready(self) -> bool:
        """True when the service answers `ping` over RabbitMQ."""
        if not self.alive():
            return False
        with self._lock:
            try:
                if self._cluster is None:
                    from nameko.standalone.rpc import ClusterRpcProxy

                    config = {"AMQP_URI": CommonSettings.load().AMQP_URI}
                    self._proxy = ClusterRpcProxy(config, timeout=3)
                    self._cluster = self._proxy.start()
                getattr(self._cluster, self.service).ping()
                return True
            except Exception:  # noqa: BLE001 - not ready; start a fresh proxy next time
                self._reset()
                return False

    def _reset(self) -> None:
        proxy, self._proxy, self._cluster = self._proxy, None, None
        if proxy is not None:
            with contextlib.suppress(Exception):  # a broken proxy may fail to stop
                proxy.stop()


def _handler(probe: Probe) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if not self.path.startswith("/healthz"):
                self.send_error(404)
                return
            ok = probe.ready() if "ready=1" in self.path else probe.alive()
            body = b"ok\n" if ok else b"unavailable\n"
            self.send_response(200 if ok else 503)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return  # probes every few seconds would drown the service's own log

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("service")
    parser.add_argument("--port", type=int, default=CommonSettings.load().HEALTHZ_PORT)
    args = parser.parse_args()
    child = subprocess.Popen(service_command(args.service), cwd=ROOT)
    server = ThreadingHTTPServer(("0.0.0.0", args.port), _handler(Probe(args.service, child)))
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def forward(signum: int, _frame: object) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    code = child.wait()
    server.shutdown()
    sys.exit(code)


if __name__ == "__main__":
    main()
