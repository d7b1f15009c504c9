"""RPC payloads between gateways and services, and the reply envelope every RPC returns.

Every RPC answers `{"ok": true, "result": …}` or `{"ok": false, "error": {"code", "message",
"detail"}}`, so a refusal travels as data and the gateway maps its code to an HTTP status.
"""

from __future__ import annotations

import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from contracts import normalise
from contracts.fields import Mobile, NationalCode, Text


class Payload(BaseModel):
    """Base of RPC payloads: unknown fields are refused, text is normalised.

    `command_id` makes a command idempotent: the ids of what it records are derived from it, so a
    redelivered RPC message, or a client retrying with the same `Idempotency-Key`, records nothing
    twice and gets the first answer again.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    command_id: str = Field(
        default_factory=lambda: uuid.uuid4().hex, min_length=8, max_length=100, pattern=r"^[\w\-]+$"
    )

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
