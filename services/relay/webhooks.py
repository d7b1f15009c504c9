"""Sending the webhook outbox (`relay_deliveries`), signed per Standard Webhooks.

Each partner has its own queue: one thread per partner with deliveries due sends them in order
of position, so a slow or failing partner holds up only itself. A delivery is claimed under a
lease before it is sent (two relay replicas never send the same row at once) and marked
delivered after a 2xx. A relay killed between the partner's 2xx and that mark sends it again
after the lease, under the same `webhook-id`: at-least-once, exactly-once for a receiver that
de-duplicates by `webhook-id`, as Standard Webhooks asks receivers to.

A failure is retried with doubling back-off; a delivery still failing `retry_for` seconds after
it was queued fails for good, and the partner's webhook is paused (`PartnerWebhookPaused`, which
the administrator's partners page shows, with a button to resume).
"""

from __future__ import annotations

import base64
import logging
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from standardwebhooks import Webhook

from contracts.envelope import StreamState
from contracts.events import new_event
from contracts.eventstore import EventStore
from contracts.partners import PartnerWebhookPaused, partner_stream
from infra.db import Database
from services.relay.outbox import deliveries_table, partners_table

log = logging.getLogger(__name__)

CONTENT_TYPE = "application/cloudevents+json"


@dataclass(frozen=True)
class Policy:
    """How long and how often a delivery is tried."""

    retry_for: float = 86_400.0
    first_retry: float = 5.0
    max_wait: float = 3_600.0
    timeout: float = 10.0
    lease: float = 60.0

    def wait(self, attempts: int) -> float:
        """Seconds before the next try after `attempts` failed ones."""
        return float(min(self.first_retry * 2.0 ** max(attempts - 1, 0), self.max_wait))


def post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> None:
    """POST `body`; raises unless the partner answers 2xx."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=timeout) as answer:
        if not 200 <= answer.status < 300:
            raise urllib.error.HTTPError(url, answer.status, "not 2xx", answer.headers, None)


def secret_key(secret: str) -> bytes:
    """The HMAC key of a `whsec_…` secret, whether its base64 is the standard alphabet (as
    Standard Webhooks writes it) or the URL-safe one, padded or not."""
    text = secret.removeprefix("whsec_")
    return base64.b64decode(text.replace("-", "+").replace("_", "/") + "=" * (-len(text) % 4))


def signer(secret: str) -> Webhook:
    """The Standard Webhooks signer of `secret`."""
    return Webhook(secret_key(secret))


Post = Callable[[str, bytes, dict[str, str], float], None]
Secret = Callable[[str, int], str]


class Deliverer:
    """The per-partner senders of one relay process."""

    def __init__(
        self, db: Database, store: EventStore, secret: Secret, policy: Policy, send: Post = post
    ) -> None:
        self.db, self.store, self.secret, self.policy, self.send = db, store, secret, policy, send
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self.owner = f"relay-{id(self)}"

    def tick(self) -> None:
        """Start a sender for each partner with deliveries due and none sending here."""
        now = time.time()
        query = (
            sa.select(deliveries_table.c.partner_id)
            .join(partners_table, partners_table.c.partner_id == deliveries_table.c.partner_id)
            .where(
                deliveries_table.c.status == "pending",
                deliveries_table.c.due_at <= now,
                deliveries_table.c.lease_until <= now,
                partners_table.c.status == "active",
                partners_table.c.webhook_status == "active",
            )
            .distinct()
        )
        with self.db.read.connect() as conn:
            partners = [row[0] for row in conn.execute(query)]
        for partner_id in partners:
            with self._lock:
                if partner_id in self._busy:
                    continue
                self._busy.add(partner_id)
            threading.Thread(
                target=self._drain, args=(partner_id,), name="relay-webhook", daemon=True
            ).start()

    def _drain(self, partner_id: str) -> None:
        try:
            while self._send_next(partner_id):
                pass
        except Exception:
            log.exception("webhooks of partner %s", partner_id)
        finally:
            with self._lock:
                self._busy.discard(partner_id)

    def _send_next(self, partner_id: str) -> bool:
        """Send the partner's first pending delivery if it is due; True to go on with the next."""
        now = time.time()
        with self.db.write.begin() as conn:
            partner = conn.execute(
                sa.select(partners_table).where(partners_table.c.partner_id == partner_id)
            ).one_or_none()
            if partner is None or partner.status != "active" or partner.webhook_status != "active":
                return False
            row = conn.execute(
                sa.select(deliveries_table)
                .where(deliveries_table.c.partner_id == partner_id, deliveries_table.c.status == "pending")
                .order_by(deliveries_table.c.position)
                .limit(1)
            ).one_or_none()
            if row is None or row.due_at > now or row.lease_until > now:
                return False  # the first one waits for its retry: the later ones wait behind it
            claimed = conn.execute(
                deliveries_table.update()
                .where(
                    deliveries_table.c.delivery_id == row.delivery_id,
                    deliveries_table.c.lease_until == row.lease_until,
                    deliveries_table.c.status == "pending",
                )
                .values(lease_until=now + self.policy.lease)
            ).rowcount
        if claimed != 1:
            return False  # another replica took it
        body = row.body.encode()
        sent_at = datetime.now(UTC)
        signature = signer(self.secret(partner_id, partner.generation)).sign(row.delivery_id, sent_at, body)
        headers = {
            "content-type": CONTENT_TYPE,
            "webhook-id": row.delivery_id,
            "webhook-timestamp": str(int(sent_at.timestamp())),
            "webhook-signature": signature,
            "user-agent": "pishkhan-relay/1",
        }
        try:
            self.send(partner.webhook_url, body, headers, self.policy.timeout)
        except Exception as error:  # noqa: BLE001 - any failure of the partner's end is retried
            self._failed(row, f"{type(error).__name__}: {error}"[:500])
            return False
        with self.db.write.begin() as conn:
            conn.execute(
                deliveries_table.update()
                .where(deliveries_table.c.delivery_id == row.delivery_id)
                .values(
                    status="delivered", attempts=row.attempts + 1, delivered_at=time.time(), last_error=""
                )
            )
        return True

    def _failed(self, row: sa.Row[tuple[object, ...]], error: str) -> None:
        now = time.time()
        attempts = int(row.attempts) + 1
        give_up = now - float(row.created_at) + self.policy.wait(attempts) > self.policy.retry_for
        with self.db.write.begin() as conn:
            conn.execute(
                deliveries_table.update()
                .where(deliveries_table.c.delivery_id == row.delivery_id)
                .values(
                    status="failed" if give_up else "pending",
                    attempts=attempts,
                    due_at=now + self.policy.wait(attempts),
                    lease_until=0.0,
                    last_error=error,
                )
            )
            if give_up:  # at once, not when the pause comes back from the store: nothing more is sent
                conn.execute(
                    partners_table.update()
                    .where(partners_table.c.partner_id == row.partner_id)
                    .values(webhook_status="paused")
                )
        log.warning(
            "webhook %s to partner %s failed (%d): %s", row.delivery_id, row.partner_id, attempts, error
        )
        if give_up:
            reason = f"ارسال رویداد {row.event_id} پس از {attempts} تلاش ناموفق ماند: {error}"[:500]
            self.store.append(
                partner_stream(str(row.partner_id)),
                [
                    new_event(
                        PartnerWebhookPaused(partner_id=str(row.partner_id), reason=reason),
                        event_id=uuid.uuid5(
                            uuid.UUID(str(row.delivery_id)), "paused"
                        ),  # once, whoever gives up
                        actor="relay",
                    )
                ],
                StreamState.ANY,
            )
