"""Which message each event deserves: the planner projection and its rules.

The planner appends `SmsQueued` to the message's own stream under an id derived from the
causing event, so re-running it appends nothing new. It queues nothing while a rebuild replays
history it had already seen, nor for events older than the rule that would message them (see
`SmsRulesActivated`): a template added later never writes to the past.

Given the providers (`channels`), as in the service, it also sends what it queues: the same
append that starts a message's stream claims it (`SmsDispatching`), and the claimed message goes
to the planner's `Sender` (services/notify/sending.py), whose threads call the provider after
the pass, outside its transaction, and record the outcome in the message's stream. A message
whose stream exists already (a batch run again after a crash) is left to the first run's claim
and its lease. Without channels (the rebuild of `pishkhan replay`, which must never send) it
only queues; what waits queued is sent by `retry_due`.

The rules' activations are an aggregate of their own (`activations`, the stream `notify-rules`).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa

import contracts  # noqa: F401 - registers every area's events, identity's included
from contracts.envelope import RecordedEvent
from contracts.events import Event, derived_id, registry
from contracts.eventstore import EventStore
from contracts.notify import SmsQueued, SmsRulesActivated, SmsTemplateChanged
from contracts.requests import RequestSubmitted
from contracts.secretariat import NumberAssigned, ReplyPosted, ReturnedForCorrection
from contracts.support import TicketAnswered
from infra.concurrency import run_together
from infra.decider import Decider, handle
from infra.projections import Context, RowsProjection, field_of
from infra.rows import Rows
from services.notify.dispatch import SENDING_WIDTH, Channels, Derived, queue
from services.notify.lifecycle import Policy
from services.notify.sending import Sender
from services.notify.templates import DEFAULT_ORGANISATION, TEMPLATES, render

RULES_STREAM = "notify-rules"
EMAIL_SUBJECT = "پیشخوان خدمت: {title}"

planner_metadata = sa.MetaData()
recipients_table = sa.Table(
    "notify_request_recipients",
    planner_metadata,
    sa.Column("request_id", sa.String(64), primary_key=True),
    sa.Column("mobile", sa.String(11), nullable=False),
    sa.Column("email", sa.String(200)),
    sa.Column("tracking_code", sa.String(20), nullable=False),
    sa.Column("organisation", sa.String(100), nullable=False),
)
accounts_table = sa.Table(
    "notify_account_recipients",
    planner_metadata,
    sa.Column("account_id", sa.String(64), primary_key=True),
    sa.Column("mobile", sa.String(11), nullable=False),
    sa.Column("email", sa.String(200)),
)
templates_table = sa.Table(
    "notify_templates",
    planner_metadata,
    sa.Column("organisation", sa.String(100), primary_key=True),
    sa.Column("template", sa.String(50), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("admin", sa.String(100), nullable=False),
    sa.Column("changed_at", sa.String(40), nullable=False),
)

# Identity's events are consumed when this checkout defines them.
_IDENTITY = (
    "CitizenRegistered",
    "MobileChanged",
    "ProfileUpdated",
    "VerificationApproved",
    "VerificationRejected",
)
_REGISTERED = tuple(registry.types[name] for name in ("CitizenRegistered",) if name in registry.types)
"""The event that makes an account's row (none in a checkout without identity's events)."""
EVENT_TEMPLATES = (
    "request_received",
    "request_registered",
    "returned_for_correction",
    "reply_posted",
    "final_reply_posted",
    "citizen_registered",
    "citizen_registered_verified",
    "verification_approved",
    "verification_rejected",
    "ticket_answered",
)
RULES = tuple(EVENT_TEMPLATES) + tuple(f"email:{name}" for name in EVENT_TEMPLATES)


def registered_template(event: Any) -> str:
    """The welcome of a new account: one the civil registry confirmed at registration (seed 000,
    assurance level 3) is told it may file at once, never that its identity still needs confirming."""
    confirmed = getattr(event, "registry", None) is not None
    return "citizen_registered_verified" if confirmed else "citizen_registered"


@dataclass(frozen=True)
class Activate:
    """Start planning by `rules`: those never activated begin after `from_position`."""

    rules: tuple[str, ...]
    from_position: int


Origins = Mapping[str, int]
"""Each activated rule's first position."""


def _evolve_origins(origins: Origins, event: Event) -> Origins:
    if not isinstance(event, SmsRulesActivated):
        return origins
    return MappingProxyType({**origins, **dict.fromkeys(event.rules, event.from_position)})


def _decide_activation(command: Activate, origins: Origins) -> list[Event]:
    missing = tuple(rule for rule in command.rules if rule not in origins)
    if not missing:
        return []
    return [SmsRulesActivated(rules=missing, from_position=max(command.from_position, 0))]


def _no_rules() -> Origins:
    return MappingProxyType({})


activations: Decider[Activate, Origins] = Decider(_no_rules, _evolve_origins, _decide_activation)
"""The rules' activations: the aggregate of the stream `notify-rules`."""


def activate_rules(store: EventStore, rules: tuple[str, ...], from_position: int) -> dict[str, int]:
    """Each rule's first position: rules never activated start after `from_position` (two
    instances starting at once activate them once: the second decides again on the first's)."""
    decided = handle(
        store,
        activations,
        Activate(rules, from_position),
        RULES_STREAM,
        identity=Derived(uuid.uuid4()),
        purpose="activation",
        actor="service:notify",
    )
    return dict(decided.state)


class Planner(RowsProjection):
    """Decides the SMS (and e-mail) for each step of a request and of an account."""

    name = "notify.planner"
    handles = (
        RequestSubmitted,
        NumberAssigned,
        ReplyPosted,
        ReturnedForCorrection,
        TicketAnswered,
        SmsTemplateChanged,
        *(registry.types[name] for name in _IDENTITY if name in registry.types),
    )
    metadata = planner_metadata

    def __init__(
        self, rules: tuple[str, ...] = RULES, channels: Channels | None = None, policy: Policy | None = None
    ) -> None:
        self.rules = rules
        self.channels = channels
        self.policy = policy or Policy()
        self.sender = Sender(channels, self.policy) if channels is not None else None
        """Where the messages it claims are handed over, after its pass."""
        self._origins: dict[str, int] = {}
        self._planned: dict[str, list[Planned]] = {}
        self._texts: dict[tuple[str, str], tuple[str, int]] = {}

    def apply_batch(self, conn: sa.Connection, batch: Sequence[tuple[Any, Context]]) -> None:
        """Plan the whole batch, then append its messages side by side (the store commits
        concurrent appends together), each claimed for its `Sender`, which calls the provider
        once the append is done; one recipient's messages keep their order. An append repeated
        after a failed batch is the same event ids again, so nothing is queued twice."""
        self._planned, self._texts = {}, {}
        try:
            super().apply_batch(conn, batch)
            planned = self._planned
        finally:
            self._planned, self._texts = {}, {}
        if planned:
            run_together([partial(self._queue_in_order, items) for items in planned.values()], SENDING_WIDTH)

    def _queue_in_order(self, items: list[Planned]) -> None:
        for planned in items:
            message = planned.message
            if self.channels is None or self.sender is None:
                queue(planned.store, message, planned.cause, planned.purpose, None)
                continue
            claimed = queue(
                planned.store, message, planned.cause, planned.purpose, self.channels.name(message.channel)
            )
            if claimed is not None:
                self.sender.submit(planned.store, claimed, message.text)

    def prefetch(self, rows: Rows, events: Sequence[Any]) -> None:
        rows.load_for(recipients_table, events, field_of("request_id"), RequestSubmitted)
        rows.load_for(accounts_table, events, field_of("account_id"), _REGISTERED)

    def change(self, rows: Rows, event: Any, context: Context) -> None:
        kind = type(event).type_name
        if isinstance(event, SmsTemplateChanged):
            key = (event.organisation, event.template, event.template_version)
            if rows.get(templates_table, *key) is None:
                rows.insert(
                    templates_table,
                    {
                        "organisation": event.organisation,
                        "template": event.template,
                        "version": event.template_version,
                        "text": event.text,
                        "admin": event.admin,
                        "changed_at": context.at,
                    },
                )
            self._texts.clear()
            return
        if isinstance(event, RequestSubmitted) and rows.get(recipients_table, event.request_id) is None:
            rows.insert(
                recipients_table,
                {
                    "request_id": event.request_id,
                    "mobile": event.applicant.mobile,
                    "email": event.applicant.email,
                    "tracking_code": event.tracking_code,
                    "organisation": event.unit or DEFAULT_ORGANISATION,
                },
            )
        elif kind == "CitizenRegistered" and rows.get(accounts_table, event.account_id) is None:
            rows.insert(accounts_table, {"account_id": event.account_id, "mobile": event.mobile})
        elif kind in ("MobileChanged", "ProfileUpdated"):
            changes = {"mobile": event.mobile} if kind == "MobileChanged" else {"email": event.email}
            if any(value is not None for value in changes.values()):
                rows.update(accounts_table, event.account_id, changes)
            return
        if context.replaying:
            return  # history: its messages were queued when it happened
        if isinstance(event, RequestSubmitted):
            self._plan(rows, context, "request_received", _request(rows, event.request_id))
        elif isinstance(event, NumberAssigned):
            values = {"registration_number": event.registration_number}
            self._plan(rows, context, "request_registered", _request(rows, event.request_id), **values)
        elif isinstance(event, ReturnedForCorrection):
            who = _request(rows, event.request_id)
            self._plan(rows, context, "returned_for_correction", who, reason=event.reason)
        elif isinstance(event, ReplyPosted):
            template = "final_reply_posted" if event.kind == "final" else "reply_posted"
            self._plan(rows, context, template, _request(rows, event.request_id))
        elif kind == "CitizenRegistered":
            template = registered_template(event)
            self._plan(rows, context, template, _account(rows, event.account_id))
        elif kind == "VerificationApproved":
            self._plan(rows, context, "verification_approved", _account(rows, event.account_id))
        elif kind == "VerificationRejected":
            who = _account(rows, event.account_id)
            self._plan(rows, context, "verification_rejected", who, reason=event.reason)
        elif isinstance(event, TicketAnswered):
            who = _account(rows, event.account_id)
            self._plan(rows, context, "ticket_answered", who, ticket_number=str(event.number))

    def _plan(
        self, rows: Rows, context: Context, template: str, who: dict[str, Any] | None, **values: str
    ) -> None:
        if who is None:
            return  # an account identity's own tests made without registering
        values = {"tracking_code": who.get("tracking_code") or "", **values}
        organisation = who.get("organisation") or DEFAULT_ORGANISATION
        text, version = self._text(rows, organisation, template)
        for channel, to in (("sms", who["mobile"]), ("email", who.get("email"))):
            rule = template if channel == "sms" else f"email:{template}"
            if not to or rule not in self.rules or context.recorded.position <= self._origin(context, rule):
                continue
            self._queue(context, channel, to, template, organisation, version, render(text, **values), who)

    def _text(self, rows: Rows, organisation: str, template: str) -> tuple[str, int]:
        """`current_text`, read once per batch (a template change in the batch reads again)."""
        key = (organisation, template)
        if key not in self._texts:
            self._texts[key] = current_text(rows.sql(), organisation, template)
        return self._texts[key]

    def _origin(self, context: Context, rule: str) -> int:
        if rule not in self._origins:
            # Without an activation made at the service's start (a bare runner in a test), the
            # first event this planner sees is where its rules begin.
            self._origins = activate_rules(context.store, self.rules, context.recorded.position - 1)
        return self._origins[rule]

    def _queue(
        self,
        context: Context,
        channel: str,
        to: str,
        template: str,
        organisation: str,
        version: int,
        text: str,
        who: dict[str, Any],
    ) -> None:
        cause = context.recorded
        key = template if channel == "sms" else f"email:{template}"
        message_id = derived_id(cause.id, f"sms:{key}").hex
        queued = SmsQueued(
            message_id=message_id,
            to=to,
            template=template,
            text=text,
            request_id=who.get("request_id"),
            channel="sms" if channel == "sms" else "email",
            subject=EMAIL_SUBJECT.format(title=TEMPLATES[template].title) if channel == "email" else None,
            organisation=organisation,
            template_version=version,
        )
        self._planned.setdefault(to, []).append(Planned(context.store, queued, cause, f"queued:{key}"))


@dataclass(frozen=True)
class Planned:
    """A message the batch decided on: queued under the id `purpose` derives from its `cause`."""

    store: EventStore
    message: SmsQueued
    cause: RecordedEvent
    purpose: str


def current_text(conn: sa.Connection, organisation: str, template: str) -> tuple[str, int]:
    """The newest text of `template` for `organisation` (else for every organisation, else the
    seed text as version 0)."""
    for owner in dict.fromkeys((organisation, DEFAULT_ORGANISATION)):
        row = conn.execute(
            sa.select(templates_table.c.text, templates_table.c.version)
            .where(templates_table.c.organisation == owner, templates_table.c.template == template)
            .order_by(templates_table.c.version.desc())
            .limit(1)
        ).first()
        if row is not None:
            return row.text, row.version
    return TEMPLATES[template].text, 0


def _request(rows: Rows, request_id: str) -> dict[str, Any] | None:
    return rows.get(recipients_table, request_id)


def _account(rows: Rows, account_id: str) -> dict[str, Any] | None:
    row = rows.get(accounts_table, account_id)
    return None if row is None else {**row, "request_id": None}
