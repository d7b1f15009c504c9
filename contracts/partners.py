"""Partners (issue 25): outside systems (a municipality's app, an NGO's dashboard) that read and
file requests through the Open311 API and receive webhooks of what happens to them.

Each partner is the stream `partner-<id>`, written by the identity service. A partner is bound to
one unit (it sees only that unit's requests) or to none (it sees all). No secret is ever stored in
an event: a key is kept as its SHA-256 and its first characters, and the webhook secret is derived
from the partners' master secret and the key's generation (`infra/partner_keys.py`).
"""

from __future__ import annotations

from pydantic import Field

from contracts.errors import register_messages
from contracts.events import Event, registry
from contracts.fields import Text
from contracts.rpc import Payload

PARTNER_ID = Field(pattern=r"^[0-9a-f]{32}$")
ACTOR = Field(min_length=1, max_length=100)
KEY_HASH = Field(pattern=r"^[0-9a-f]{64}$")

PARTNER_STATUSES = {"active": "فعال", "revoked": "لغو شده"}
"""A partner's states as the back office reads them."""
WEBHOOK_STATUSES = {"active": "فعال", "paused": "متوقف"}
"""A partner's webhook's states as the back office reads them."""


def partner_stream(partner_id: str) -> str:
    """The stream of one partner's events."""
    return f"partner-{partner_id}"


PARTNER_ACTOR = "partner"
"""The actor prefix of a partner system that filed a request through Open311 (its events'
`actor` metadata, `partner:<partner id>`): its name is its stream's, not an account's."""


def partner_actor(partner_id: str) -> str:
    """The actor a partner system's events name: `partner:<partner id>`."""
    return f"{PARTNER_ACTOR}:{partner_id}"


@registry.event("PartnerAdded", 1)
class PartnerAdded(Event):
    """An administrator added a partner; its first key (generation 1) is the one hashed here."""

    partner_id: str
    name: str = Field(min_length=1, max_length=200)
    unit: str = ""
    webhook_url: str = ""
    key_hash: str
    key_prefix: str
    added_by: str


@registry.event("PartnerKeyRotated", 1)
class PartnerKeyRotated(Event):
    """The partner's key was replaced: the old key stops working at once, and the webhook
    secret (derived from `generation`) changes with it."""

    partner_id: str
    key_hash: str
    key_prefix: str
    generation: int = Field(ge=2)
    rotated_by: str = ""


@registry.event("PartnerRevoked", 1)
class PartnerRevoked(Event):
    """The partner was cut off: its key authenticates no more and nothing is sent to it."""

    partner_id: str
    reason: str = Field(min_length=1)
    revoked_by: str


@registry.event("PartnerWebhookPaused", 1)
class PartnerWebhookPaused(Event):
    """The relay stopped sending to the partner's webhook (it failed too often)."""

    partner_id: str
    reason: str = ""


@registry.event("PartnerWebhookResumed", 1)
class PartnerWebhookResumed(Event):
    """An administrator resumed a paused webhook; the relay sends to it again."""

    partner_id: str
    resumed_by: str = ""


# -- RPC payloads (gateways, CLI → services/identity) ----------------------------------------


class AuthenticatePartner(Payload):
    """The API key a partner's request carries."""

    api_key: str = Field(min_length=1, max_length=200)


class AddPartner(Payload):
    """افزودن شریک: a name, an optional unit (scope) and an optional webhook URL."""

    name: Text = Field(min_length=2, max_length=200)
    unit: str = Field(default="", max_length=100)
    webhook_url: str = Field(default="", max_length=500)
    actor: str = ACTOR


class RevokePartner(Payload):
    """لغو دسترسی شریک, with the reason."""

    partner_id: str = PARTNER_ID
    reason: Text = Field(min_length=2, max_length=500)
    actor: str = ACTOR


class PartnerCommand(Payload):
    """A command on one partner that needs nothing more (rotate its key, resume its webhook)."""

    partner_id: str = PARTNER_ID
    actor: str = ACTOR


class PausePartnerWebhook(Payload):
    """The relay pauses a partner's webhook."""

    partner_id: str = PARTNER_ID
    reason: str = Field(default="", max_length=500)


register_messages(
    {
        "invalid_api_key": (401, "کلید دسترسی نامعتبر است."),
        "partner_not_found": (404, "شریکی با این مشخصات یافت نشد."),
        "partner_revoked": (409, "دسترسی این شریک لغو شده است."),
        "partner_webhook_not_paused": (409, "ارسال رویداد به این شریک متوقف نیست."),
        "partner_key_shown_once": (
            409,
            "کلید این شریک یک بار نمایش داده شده است؛ برای کلید تازه، کلید را بازسازی کنید.",
        ),
        "invalid_webhook_url": (400, "نشانی وب‌هوک باید با https:// یا http:// آغاز شود."),
    }
)

PARTNER_EVENTS = (
    PartnerAdded,
    PartnerKeyRotated,
    PartnerRevoked,
    PartnerWebhookPaused,
    PartnerWebhookResumed,
)
"""Every event of a partner's stream: what the identity service folds and the relay follows."""
