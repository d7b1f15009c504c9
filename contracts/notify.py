"""Events of notify (written by `services/notify`): one stream per message, one per template set.

A message's stream holds its life cycle:

    SmsQueued → SmsDispatching → SmsSent → SmsDelivered
                               ↘ SmsDeferred → SmsDispatching → …   (temporary failure, bounded)
                               ↘ SmsFailed                          (permanent or technical)

`SmsDispatching` is the claim: it is appended at the stream's exact version, so of several notify
instances only the one whose append wins calls the provider. A claim with no outcome (a crash)
is retried under the same de-duplication key (the message id). One-time codes never appear in
any event: their `text` is masked.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator

from contracts.errors import register_messages
from contracts.events import Event, registry
from contracts.fields import Mobile, Text
from contracts.persian import latin_digits
from contracts.rpc import Payload

Channel = Literal["sms", "email"]
FinalFailure = Literal["permanent_failure", "technical_failure"]


@registry.event("SmsQueued", 2)
class SmsQueued(Event):
    """A message was decided on; its id is derived from the event that caused it (or, for a
    one-time code, chosen by the caller).

    v2 adds the channel (an e-mail goes through the same life cycle), the subject of an e-mail,
    the organisation and version of the template used, and `one_time_code`: the text of such a
    message is masked and it is never re-sent from the store."""

    message_id: str
    to: str
    template: str
    text: str
    request_id: str | None = None
    channel: Channel = "sms"
    subject: str | None = None
    organisation: str = "*"
    template_version: int = Field(default=0, ge=0)
    one_time_code: bool = False


@registry.upcaster("SmsQueued", 1)
def _sms_queued_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return dict(data)  # every field v2 added has a default that describes v1's messages


@registry.event("SmsDispatching", 2)
class SmsDispatching(Event):
    """One notify instance claimed the message and is handing it to the provider (attempt n).

    v2 adds `claimed_at`, when the claim was made: its lease (how long no other instance may
    take the message over) is reckoned from it. A v1 claim has none, and its lease counts as
    over (a message handed over again keeps its id, which the provider de-duplicates)."""

    message_id: str
    attempt: int = Field(ge=1)
    provider: str
    claimed_at: str | None = None


@registry.upcaster("SmsDispatching", 1)
def _sms_dispatching_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "claimed_at": None}


@registry.event("SmsSent", 1)
class SmsSent(Event):
    """The provider accepted the message."""

    message_id: str
    provider: str
    provider_message_id: str


@registry.event("SmsDeferred", 1)
class SmsDeferred(Event):
    """The provider failed for now (down, slow, busy): another attempt is due at `retry_at`."""

    message_id: str
    provider: str
    attempt: int = Field(ge=1)
    reason: str
    retry_at: str


@registry.event("SmsDelivered", 1)
class SmsDelivered(Event):
    """The provider's delivery receipt: the message reached the phone (or mailbox)."""

    message_id: str
    provider: str
    delivered_at: str


@registry.event("SmsFailed", 2)
class SmsFailed(Event):
    """The message will not be delivered; `reason` says why.

    v2 adds `status`: a permanent failure (the provider refused it or reported it undeliverable,
    such as a number that blocks promotional messages) or a technical failure (every attempt
    failed for a temporary reason). v1 only recorded the provider's refusals."""

    message_id: str
    provider: str
    reason: str
    status: FinalFailure = "permanent_failure"
    attempts: int = Field(default=1, ge=0)


@registry.upcaster("SmsFailed", 1)
def _sms_failed_v1_to_v2(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "status": "permanent_failure", "attempts": 1}


@registry.event("SmsTemplateChanged", 1)
class SmsTemplateChanged(Event):
    """An administrator set the text of one template for one organisation ("*" = every
    organisation without its own text); `template_version` counts the changes of that template."""

    organisation: str = Field(min_length=1, max_length=100)
    template: str = Field(min_length=1, max_length=50)
    template_version: int = Field(ge=1)
    text: str = Field(min_length=1, max_length=1000)
    admin: str


@registry.event("SmsRulesActivated", 1, terminal=True)
class SmsRulesActivated(Event):
    """Notify started planning messages by these rules; events at or before `from_position`
    never get a message from them, so a rule added later never writes to the past."""

    rules: tuple[str, ...]
    from_position: int = Field(ge=0)


register_messages(
    {
        "unknown_template": (404, "چنین قالب پیامکی وجود ندارد."),
        "invalid_template": (422, "متن قالب معتبر نیست؛ فقط از نشانه‌های مجاز آن قالب استفاده کنید."),
    }
)


CodePurpose = Literal["login", "register", "reset_password", "staff_login", "verify_mobile"]


class SendCode(Payload):
    """`notify.send_code`: send a one-time code now. `message_id` is the caller's de-duplication
    key: asking again with it sends nothing new and answers the first message's status."""

    mobile: Mobile
    code: str = Field(pattern=r"^\d{4,10}$")
    purpose: CodePurpose
    message_id: str = Field(pattern=r"^[0-9a-fA-F]{16,64}$")

    @field_validator("code")
    @classmethod
    def _code(cls, value: str) -> str:
        return latin_digits(value)


class ChangeTemplate(Payload):
    """An administrator's new text for one template of one organisation ("*" for all)."""

    organisation: str = Field(default="*", min_length=1, max_length=100, pattern=r"^(\*|[\w\-]+)$")
    template: str = Field(min_length=1, max_length=50)
    text: Text = Field(min_length=1, max_length=1000)
    admin: str = Field(min_length=1, max_length=100)


class SendLink(Payload):
    """`notify.send_link`: e-mail a one-time link now (seed 004 activates accounts by e-mail).
    `message_id` is the caller's de-duplication key, as for codes."""

    email: str = Field(max_length=200, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    link: str = Field(max_length=2000, pattern=r"^https?://\S+$")
    purpose: Literal["activate_account", "reset_password"]
    message_id: str = Field(pattern=r"^[0-9a-fA-F]{16,64}$")
