"""SMS providers behind one port. The default keeps messages in an outbox database.

`send` takes our message id as the provider's de-duplication key (Kavenegar calls it
`localid`): a provider asked twice for one id sends once and answers with the first result.
That closes the gap between "the provider sent it" and "we recorded that it was sent".
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import sqlalchemy as sa

from infra.db import Database, upsert_insert
from infra.settings import NotifySettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """The provider's answer: its own id for the message."""

    provider_message_id: str


@dataclass(frozen=True)
class Receipt:
    """A delivery receipt: `delivered`, `failed` (with the provider's reason) or `pending`."""

    status: Literal["delivered", "failed", "pending"]
    reason: str = ""


class PermanentFailure(Exception):
    """The provider will never deliver this message (blocked number, invalid recipient)."""


class TransientFailure(Exception):
    """The provider failed for now (down, too slow, busy): the same message may be tried again."""


class SmsProvider(abc.ABC):
    """Sends one SMS, de-duplicated by `message_id`."""

    name: str

    @abc.abstractmethod
    def send(self, message_id: str, to: str, text: str) -> Delivery:
        """Hand the message over; raise `PermanentFailure` if it can never be sent and
        `TransientFailure` if it may be sent later."""

    def receipts(self, provider_message_ids: list[str]) -> dict[str, Receipt]:
        """Delivery receipts of sent messages, by the provider's id; a provider that gives
        none (the outbox) answers nothing and its messages stay `sent`."""
        return {}


outbox_metadata = sa.MetaData()
outbox_table = sa.Table(
    "sms_outbox",
    outbox_metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("message_id", sa.String(64), nullable=False, unique=True),
    sa.Column("to", sa.String(20), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("sent_at", sa.String(40), nullable=False),
    sa.Column("requests", sa.Integer, nullable=False, default=1),
)


class OutboxProvider(SmsProvider):
    """Writes each message once to the `sms_outbox` table (and the log) instead of a phone.

    `requests` counts how often the same message id was handed over, so a test can tell a
    de-duplicated resend from a real second message.

    On SQLite the outbox commits without waiting for the disk (`synchronous=NORMAL`: a killed
    process loses nothing; a power cut may lose the last messages, which the store still
    records as sent). A write that waits for the disk blocks every green thread of the notify
    service while it waits: measured 1.6 ms a message with FULL, a tenth of the service's time
    at 60 messages a second.
    """

    name = "outbox"

    def __init__(self, url: str | None = None) -> None:
        url = url or NotifySettings.load().SMS_OUTBOX_URL  # else var/sms-outbox.db
        self.db = Database(url, synchronous="NORMAL", role="outbox")
        self.db.create_tables(outbox_metadata)
        insert = upsert_insert(url, outbox_table)
        self._upsert = insert.on_conflict_do_update(
            index_elements=[outbox_table.c.message_id], set_={"requests": outbox_table.c.requests + 1}
        ).returning(outbox_table.c.requests)

    def send(self, message_id: str, to: str, text: str) -> Delivery:
        row = {"message_id": message_id, "to": to, "text": text, "sent_at": datetime.now(UTC).isoformat()}
        with self.db.write.begin() as conn:
            requests = conn.execute(self._upsert, {**row, "requests": 1}).scalar_one()
        if requests == 1:
            log.info("SMS to %s: %s", to, text)
        return Delivery(provider_message_id=f"outbox-{message_id}")

    def messages(self) -> list[dict[str, object]]:
        """Everything in the outbox, oldest first."""
        with self.db.read.connect() as conn:
            rows = conn.execute(sa.select(outbox_table).order_by(outbox_table.c.id))
            return [dict(r._mapping) for r in rows]


def provider_from_env() -> SmsProvider:
    """`SMS_PROVIDER`: `outbox` (the default), `http` (a generic HTTP gateway at `SMS_HTTP_URL`)
    or `kavenegar` (Kavenegar's API at `KAVENEGAR_URL`, default https://api.kavenegar.com, with
    `KAVENEGAR_API_KEY` and `KAVENEGAR_SENDER`)."""
    from services.notify.http_providers import HttpSmsProvider, KavenegarProvider

    settings = NotifySettings.load()
    name = settings.SMS_PROVIDER
    timeout = settings.SMS_TIMEOUT
    if name == "outbox":
        return OutboxProvider()
    if name == "http":
        return HttpSmsProvider(settings.SMS_HTTP_URL, timeout=timeout)
    if name == "kavenegar":
        return KavenegarProvider(
            settings.KAVENEGAR_URL,  # else SMS_HTTP_URL, else Kavenegar's own
            settings.KAVENEGAR_API_KEY.get_secret_value(),
            settings.KAVENEGAR_SENDER,
            timeout=timeout,
        )
    raise ValueError(f"unknown SMS_PROVIDER {name!r}")
