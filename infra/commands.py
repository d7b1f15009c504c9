"""Appending what a command decided so that its command id names one command: a repeat gets the
first result, the same id with other input (a client's key reused) is refused.

Each service's idempotency rests on event ids derived from the command id (`Payload.derived`):
the store answers an append of ids it already holds with the earlier append's result and writes
nothing. That alone cannot tell a retry from a reused key, whose other input it would silently
drop while the caller is told it succeeded; nor does a command id reused in another stream end
better than the store's `DuplicateEventIds`. The command's fingerprint, kept in its events'
metadata (`Payload.marked`), tells them apart.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Protocol

from contracts.envelope import AppendResult, DuplicateEventIds, ExpectedVersion, NewEvent, RecordedEvent
from contracts.errors import DomainError
from contracts.eventstore import EventStore


class Identified(Protocol):
    """A command as its idempotency needs it (`contracts.rpc.Payload` is one): its id, the
    fingerprint of its input, and the checks they allow."""

    @property
    def command_id(self) -> str: ...

    @property
    def fingerprint(self) -> str: ...

    def derived(self, purpose: str) -> uuid.UUID: ...

    def marked(self, event: NewEvent) -> NewEvent: ...

    def check_repeat(self, recorded: RecordedEvent) -> None: ...


def append_command(
    store: EventStore,
    stream: str,
    events: Sequence[NewEvent],
    expected: ExpectedVersion,
    command: Identified,
    *,
    verify: bool = True,
) -> AppendResult:
    """Append `events`, which `command` decided, marked with its id and fingerprint.

    When the store answers with an earlier append of these ids, that append's fingerprint must
    be this command's, else `idempotency_key_reused`; so must the stream be (ids it holds in
    another stream: the same). A command with a fingerprint (a client's key) pays one read of
    the stream's event to know; one without, nothing; nor one whose ids the store cannot hold
    yet (`verify=False`: they name something only this attempt has, a tracking code it claimed)."""
    marked = [command.marked(event) for event in events]
    try:
        result = store.append(stream, marked, expected)
    except DuplicateEventIds:
        raise DomainError("idempotency_key_reused") from None
    if command.fingerprint and verify:
        (first,) = store.read_stream(stream, result.revision - len(marked) + 1, limit=1)
        command.check_repeat(first)
    return result
