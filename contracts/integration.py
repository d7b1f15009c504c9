"""Integration events: the public, versioned subset of what happens to a request (issue 25).

Domain events are private to the desk and may change with it; partners read these instead, as
CloudEvents 1.0 (over RabbitMQ, as signed webhooks and on the HTTP feed). Each type's name ends
with its version (`….v1`): a change a consumer would notice makes a `.v2` beside it, never a new
meaning for `.v1`.

The data is a small public dict: the tracking code, the service, the unit, the state, the
registration number, the reply's date. Never a national code, a mobile number, an e-mail or the
request's text: a partner of one unit may read it.

Delivery is at-least-once (a relay killed after publishing and before moving its checkpoint
publishes again); the CloudEvent `id` (the stored event's id) is the same each time, so a
consumer that remembers the ids it has seen handles each event exactly once.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

SOURCE = "/pishkhan/requests"
SPEC_VERSION = "1.0"
EXCHANGE = "pishkhan.events"
"""The durable topic exchange the relay publishes to; the routing key is the CloudEvent type."""

PREFIX = "ir.pishkhan.request."
SUBMITTED = PREFIX + "submitted.v1"
REGISTERED = PREFIX + "registered.v1"
REFERRED = PREFIX + "referred.v1"
RETURNED = PREFIX + "returned.v1"
REPLIED = PREFIX + "replied.v1"
CLOSED = PREFIX + "closed.v1"
TYPES = (SUBMITTED, REGISTERED, REFERRED, RETURNED, REPLIED, CLOSED)

Status = Literal["submitted", "registered", "referred", "returned", "replied", "closed"]


class RequestData(BaseModel):
    """The `data` of every request integration event (fields unknown at that step are null)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    tracking_code: str
    status: Status
    service_id: str | None = None
    service_name: str | None = None
    unit: str | None = None
    """The unit the request was filed for (the catalogue's, or the one a letter addresses)."""
    referred_to: str | None = None
    """The unit it was last referred to."""
    province: str | None = None
    registration_number: str | None = None
    reply_kind: Literal["interim", "final"] | None = None
    reply_date: str | None = None
    """The reply's Jalali date as printed on it (yyyy/mm/dd)."""
    submitted_at: str | None = None


class IntegrationEvent(BaseModel):
    """One integration event, with the units whose partners may see it (`scope`, not sent)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    type: str
    subject: str
    time: str
    position: int
    data: RequestData
    scope: tuple[str, ...] = ()
    """The request's units: a partner bound to one of them sees it (an unbound partner sees all)."""

    def attributes(self) -> dict[str, Any]:
        """The CloudEvent's context attributes."""
        return {
            "specversion": SPEC_VERSION,
            "id": self.id,
            "source": SOURCE,
            "type": self.type,
            "subject": self.subject,
            "time": self.time,
            "datacontenttype": "application/json",
        }

    def cloudevent(self) -> dict[str, Any]:
        """The CloudEvent in JSON's structured mode, as a dict (nulls left out of `data`)."""
        return {**self.attributes(), "data": self.data.model_dump(exclude_none=True)}


def visible_to(scope: tuple[str, ...] | list[str], partner_unit: str) -> bool:
    """True when a partner bound to `partner_unit` ("" for none) may see an event of `scope`."""
    return not partner_unit or partner_unit in scope
