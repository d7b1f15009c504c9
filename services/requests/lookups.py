"""The limit on failed public look-ups (tracking by code), per client address.

Each failed look-up (an unknown code, a wrong second factor, a malformed code) counts for the
address the gateway saw; once `TRACK_ATTEMPTS` (default 20 per 600 seconds) is reached, a look-up
from that address goes through only when the gateway says its captcha was solved
(`captcha_passed`, after identity checked the answer), so tracking codes cannot be enumerated
while a پیشخوان office or a carrier's NAT, many citizens behind one address, is never shut out.
Without a solved captcha the address gets `track_limited` (429, a Persian message): the JSON API,
which cannot show a captcha, answers it; the tracking page shows a captcha instead. A look-up
with a solved captcha still counts when it fails. The count lives in the requests service's
database (`infra.attempts`): every gateway process and every service instance share it, and a
restart does not reset it. Two look-ups racing from one address may both pass at the limit's
edge; the overshoot is bounded by the calls one address has in flight.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import sqlalchemy as sa

from contracts.errors import DomainError
from infra import attempts
from infra.db import Database
from infra.settings import RequestsSettings

metadata = sa.MetaData()
failures_table = attempts.attempts_table("requests_track_failures", metadata)

FAILED = ("request_not_found", "invalid_tracking_code")
"""The answers that count as a failed look-up."""

T = TypeVar("T")


@dataclass(frozen=True)
class TrackLimit:
    """At most `failures` failed look-ups per address within `seconds`."""

    failures: int = 20
    seconds: float = 600.0

    @classmethod
    def from_env(cls) -> TrackLimit:
        """`TRACK_ATTEMPTS`: `failures/seconds`, e.g. `20/600`."""
        count, _, seconds = RequestsSettings.load().TRACK_ATTEMPTS.partition("/")
        return cls(int(count), float(seconds or 600))


def setup(db: Database) -> None:
    """Create the table if it is missing."""
    db.create_tables(metadata)


def limited(
    db: Database,
    limit: TrackLimit,
    client: str,
    look_up: Callable[[], T],
    clock: Callable[[], float] = time.time,
    captcha_passed: bool = False,
) -> T:
    """`look_up()`, unless `client` used up its failures and did not solve a captcha
    (`track_limited`); a failed look-up is counted for `client`, captcha or not. An empty
    `client` (a caller other than a gateway) is not limited."""
    key = f"client:{client}"
    if client and not captcha_passed and is_limited(db, limit, client, clock):
        raise DomainError("track_limited")
    try:
        return look_up()
    except DomainError as error:
        if client and error.code in FAILED:
            attempts.record(db, failures_table, clock(), key)
        raise


def is_limited(db: Database, limit: TrackLimit, client: str, clock: Callable[[], float] = time.time) -> bool:
    """Whether `client` used up its failed look-ups: its next one needs a solved captcha."""
    key = f"client:{client}"
    return attempts.count(db, failures_table, clock(), key, limit.seconds) >= limit.failures
