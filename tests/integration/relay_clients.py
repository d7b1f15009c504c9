"""Partners' ends of the relay, each run as its own process by tests/integration/test_relay.py.

    python -m tests.integration.relay_clients webhooks PORT OUT SECRETS_JSON
    python -m tests.integration.relay_clients consumer AMQP_URL OUT

`webhooks`: an HTTP server that verifies every delivery with the `standardwebhooks` package
(secrets per path, Standard Webhooks' base64), answers 500 on paths starting with `/fail`, and
writes one JSON line per delivery it received (verified or not) to OUT.
`consumer`: a pika consumer of a private queue bound to `pishkhan.events`, writing "ready" once
bound, then one JSON line per message (its properties and its CloudEvent, read by the SDK).
"""

from __future__ import annotations

import json
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

_lock = threading.Lock()


def _write(out: Path, record: dict[str, Any]) -> None:
    with _lock, open(out, "a") as file:
        file.write(json.dumps(record, ensure_ascii=False) + "\n")
        file.flush()


def webhooks(port: int, out: Path, secrets: dict[str, str]) -> None:
    from standardwebhooks import Webhook

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            record: dict[str, Any] = {"path": self.path, "id": headers.get("webhook-id"), "verified": False}
            try:
                event = Webhook(secrets[self.path.lstrip("/")]).verify(body, headers)
                record |= {"verified": True, "event": event}
            except Exception as error:  # noqa: BLE001 - recorded: the test fails on it
                record["error"] = f"{type(error).__name__}: {error}"
            _write(out, record)
            status = 500 if self.path.startswith("/fail") else 204 if record["verified"] else 401
            self.send_response(status)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    ThreadingHTTPServer(("127.0.0.1", port), Handler).serve_forever()


def consumer(url: str, out: Path) -> None:
    import pika
    from cloudevents.http import from_json

    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.exchange_declare("pishkhan.events", exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "pishkhan.events", routing_key="ir.pishkhan.request.#")

    def received(ch: Any, method: Any, properties: Any, body: bytes) -> None:
        event = from_json(body)
        _write(
            out,
            {
                "message_id": properties.message_id,
                "routing_key": method.routing_key,
                "delivery_mode": properties.delivery_mode,
                "content_type": properties.content_type,
                "attributes": dict(event.get_attributes()),
                "data": event.get_data(),
                "raw": body.decode(),
            },
        )
        ch.basic_ack(method.delivery_tag)

    channel.basic_consume(queue, received)
    _write(out, {"ready": True})
    channel.start_consuming()


if __name__ == "__main__":
    if sys.argv[1] == "webhooks":
        webhooks(int(sys.argv[2]), Path(sys.argv[3]), json.loads(Path(sys.argv[4]).read_text()))
    else:
        consumer(sys.argv[2], Path(sys.argv[3]))
