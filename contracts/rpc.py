"""RPC payloads between gateways and services, and the reply envelope every RPC returns.

Every RPC answers `{"ok": true, "result": …}` or `{"ok": false, "error": {"code", "message",
"detail"}}`, so a refusal travels as data and the gateway maps its code to an HTTP status.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts import normalise
from contracts.envelope import NewEvent, RecordedEvent
from contracts.errors import DomainError
from contracts.fields import Mobile, NationalCode, Text


class Payload(BaseModel):
    """Base of RPC payloads: unknown fields are refused, text is normalised.

    `command_id` makes a command idempotent: the ids of what it records are derived from it, so a
    redelivered RPC message, or a client retrying with the same `Idempotency-Key`, records nothing
    twice and gets the first answer again.

    `fingerprint` (set by the gateway with a client's key, else empty) is the digest of what the
    client sent with the key. The command's events carry it in their metadata (`marked`), so the
    same command id coming back with another fingerprint (one key, another input) is refused
    with `idempotency_key_reused` (`check_repeat`) instead of answered with the first result.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    command_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex, min_length=8, max_length=100, pattern=r"^[\w\-]+$"
    )
    fingerprint: str = Field(default="", pattern=r"^(?:[0-9a-f]{64})?$")

    @model_validator(mode="before")
    @classmethod
    def _storable(cls, data: Any) -> Any:
        """No field, however typed, holds a control character, an unpaired surrogate or a bidi
        override: whatever a command accepts, every read model can store and show."""
        normalise.check_storable(data)
        return data

    def derived(self, purpose: str) -> uuid.UUID:
        """A stable id for one thing this command records."""
        return uuid.uuid5(uuid.NAMESPACE_OID, f"{self.command_id}:{purpose}")

    def marked(self, event: NewEvent) -> NewEvent:
        """`event` with this command's id and fingerprint in its metadata (unchanged for a
        command without a fingerprint: its id is random, its events' ids already name it)."""
        if not self.fingerprint:
            return event
        metadata = event.metadata | {"command": self.command_id, "fingerprint": self.fingerprint}
        return dataclasses.replace(event, metadata=metadata)

    def check_repeat(self, recorded: RecordedEvent) -> None:
        """Refuse with `idempotency_key_reused` when `recorded`, an event of this command id, came
        from other input than this command's. Events recorded without a fingerprint (keyless
        commands, or before fingerprints existed) match any."""
        check_same_input(self.fingerprint, recorded)


COMMAND_FIELDS = frozenset(Payload.model_fields)
"""The fields every payload has that belong to the command, not to what it is about."""


def check_same_input(fingerprint: str, recorded: RecordedEvent) -> None:
    """`Payload.check_repeat` for a command known by its id and fingerprint alone."""
    stored = recorded.metadata.get("fingerprint")
    if fingerprint and stored and stored != fingerprint:
        raise DomainError("idempotency_key_reused")


class SubmitRequest(Payload):
    """A citizen's minimal request (the full wizard comes with the citizen's journey)."""

    national_code: NationalCode
    full_name: Text = Field(min_length=2, max_length=200)
    mobile: Mobile
    province: str = Field(min_length=2, max_length=50, pattern=r"^[a-z][a-z\-]*$")
    """A secretariat: one of `contracts.catalogue.PROVINCES` (the service checks it)."""
    subject: Text = Field(min_length=2, max_length=200)
    text: Text = Field(min_length=1, max_length=4000)


class AssignNumber(Payload):
    """A clerk registers a request in the secretariat's book."""

    request_id: str = Field(min_length=1, max_length=64)
    clerk: str = Field(min_length=1, max_length=100)


class PostReply(Payload):
    """A clerk answers a request."""

    request_id: str = Field(min_length=1, max_length=64)
    clerk: str = Field(min_length=1, max_length=100)
    kind: Literal["interim", "final"] = "final"
    body: Text = Field(min_length=1, max_length=10000)


def ok(result: Any) -> dict[str, Any]:
    """A successful RPC reply."""
    return {"ok": True, "result": result}
