"""Finding a request's (or an account's) whole history across streams, by whatever names it.

A subject is first resolved to the requests and accounts it names (`resolve`): a request id, a
tracking code (its `tracking-<code>` claim), a registration number (the book's `NumberAssigned`),
a national code (the applicant of every `RequestSubmitted`, and the account registered with it),
an account id or a stream name; digits may be typed in any script. Each request's or account's
history is then gathered by its id (`find_history`), so every name of one request finds the same
events. The look-ups by number and code read only the events of their types (the index on
`type`), then compare the field exactly.

A request's events live in several streams: `request-<id>`, `case-<id>`, the registry book's
entries that carry its `request_id`, and the `sms-*` messages about it. They are found by
(a) the streams named after the id, (b) every correlation id those events carry (an index on
`correlation_id` in the SQL store), and (c) the id appearing in an event's data or actor.

Cost: (c) is a scan. On SQLite/PostgreSQL it is one `LIKE` over `es_events.data` and
`metadata` (a sequential scan: its cost grows with the whole store, not with the request);
on EventStoreDB it reads the whole of `$all` through the client. (a) and (b) use indexes.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal

import jdatetime
import sqlalchemy as sa

from contracts.envelope import RecordedEvent, StreamNotFound
from contracts.eventstore import EventStore
from contracts.partners import PARTNER_ACTOR, partner_stream
from contracts.persian import latin_digits, persian_digits
from infra.eventstore.schema import events_table
from infra.eventstore.sql import RECORDED_COLUMNS, SqlEventStore, _recorded

TEHRAN = timezone(timedelta(hours=3, minutes=30))  # Iran keeps no daylight saving time since 2022
ROLES = ("citizen", "clerk", "desk_officer", "representative", "admin", "partner", "system", "service")
STAFF_PREFIXES = ("staff", "admin", "clerk", "desk_officer", "representative")
"""Actor prefixes (`<prefix>:<account id>`) of a staff account, whose roles its account tells."""


def jalali(moment: datetime) -> str:
    """A timestamp as a Jalali date and time in Tehran, with Persian digits."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = jdatetime.datetime.fromgregorian(datetime=moment.astimezone(TEHRAN))
    return persian_digits(local.strftime("%Y/%m/%d %H:%M:%S"))


def _seed_streams(subject: str) -> list[str]:
    if subject.startswith(("request-", "case-", "account-")):
        return [subject]
    return [f"request-{subject}", f"case-{subject}", f"account-{subject}"]


def _bare_id(subject: str) -> str:
    return subject.split("-", 1)[1] if subject.startswith(("request-", "case-", "account-")) else subject


def find_history(store: EventStore, subject: str) -> list[RecordedEvent]:
    """Every event about `subject` (a request id, an account id or national code, or a stream
    name), in `$all` order."""
    return _gather(store, _seed_streams(subject), _bare_id(subject))


def _gather(store: EventStore, seeds: Sequence[str], needle: str | None) -> list[RecordedEvent]:
    """The events of the `seeds` streams, those naming `needle`, and everything under their
    correlations and the correlations those bring in."""
    found: dict[uuid.UUID, RecordedEvent] = {}
    for stream in seeds:
        try:
            for event in store.read_stream(stream):
                found[event.id] = event
        except StreamNotFound:
            continue
    correlations = {event.correlation_id for event in found.values()}
    more: Iterable[RecordedEvent] = (
        _sql_search(store, needle, correlations)
        if isinstance(store, SqlEventStore)
        else _scan(store, needle, correlations)
    )
    for event in more:
        found.setdefault(event.id, event)
    # Effects of what we found, under a correlation we did not know yet (a caused event that
    # started its own conversation): follow causation until nothing new turns up.
    while True:
        ids = set(found)
        new_correlations = {e.correlation_id for e in found.values()} - correlations
        if not new_correlations:
            break
        correlations |= new_correlations
        source = (
            _sql_search(store, None, new_correlations)
            if isinstance(store, SqlEventStore)
            else _scan(store, None, new_correlations)
        )
        for event in source:
            found.setdefault(event.id, event)
        if set(found) == ids:
            break
    return sorted(found.values(), key=lambda e: e.position)


def _sql_search(
    store: SqlEventStore, needle: str | None, correlations: set[uuid.UUID]
) -> list[RecordedEvent]:
    table = events_table
    conditions: list[Any] = []
    if correlations:
        conditions.append(table.c.correlation_id.in_(sorted(str(c) for c in correlations)))
    if needle:
        pattern = f'%"{_like_escape(needle)}%'
        conditions.append(table.c.data.like(pattern, escape="\\"))
        conditions.append(table.c.metadata.like(f"%{_like_escape(needle)}%", escape="\\"))
    if not conditions:
        return []
    query = sa.select(*RECORDED_COLUMNS).where(sa.or_(*conditions)).order_by(table.c.position)
    with store.read_engine.connect() as conn:
        candidates = _recorded(conn, query)
    # `LIKE` finds `"clerk-10"` for `clerk-1`: keep what names the needle whole.
    return [e for e in candidates if e.correlation_id in correlations or (needle and _mentions(e, needle))]


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _scan(store: EventStore, needle: str | None, correlations: set[uuid.UUID]) -> Iterator[RecordedEvent]:
    position = 0
    while True:
        page = store.read_all(position, limit=1000)
        for event in page:
            if event.correlation_id in correlations or (needle and _mentions(event, needle)):
                yield event
        if not page:
            return
        position = page[-1].position


def _mentions(event: RecordedEvent, needle: str) -> bool:
    """Whether the event names `needle` whole: a value equal to it, or a name ending in it after
    `:` or `-` (`staff:clerk-1`, `request-<id>`), never a longer id that starts with it."""
    values = [*_strings(event.data), str(event.metadata.get("actor") or "")]
    return any(
        value == needle or value.endswith((f":{needle}", f"-{needle}")) or value.startswith(f"{needle}-")
        for value in values
    )


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON value."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _strings(item)


# -- what a typed subject names -----------------------------------------------------------------

Kind = Literal["request", "account", "stream"]
KIND_ORDER: dict[str, int] = {"request": 0, "stream": 1, "account": 2}
VIA_PERSIAN = {
    "stream": "نام جریان",
    "request id": "شناسهٔ درخواست",
    "tracking code": "کد رهگیری",
    "registration number": "شمارهٔ ثبت دبیرخانه",
    "national code": "کد ملی",
    "account id": "شناسهٔ حساب",
}
"""How a subject named a request or account, as the report says it."""


@dataclass
class Subject:
    """A request, an account or a stream that a typed subject names, and how it named it."""

    kind: Kind
    id: str
    via: list[str] = field(default_factory=list)


@dataclass
class Group:
    """One request's (account's, stream's) history in a report: a subject that names several
    requests (a national code) gives one group for each."""

    subject: Subject
    events: list[RecordedEvent]


def resolve(store: EventStore, typed: str) -> list[Subject]:
    """The requests, accounts or streams `typed` names, each once (with every way it named it).

    A stream's name names that stream (its request or account for `request-`, `case-`,
    `survey-`, `tracking-` and `account-` streams) and nothing else; any other text is tried as
    each kind of id, code and number, its digits in any script."""
    text = typed.strip()
    spellings = list(dict.fromkeys(s for s in (text, latin_digits(text)) if s))
    named: dict[tuple[str, str], Subject] = {}

    def add(kind: Kind, ident: str, via: str) -> None:
        subject = named.setdefault((kind, ident), Subject(kind, ident))
        if via not in subject.via:
            subject.via.append(via)

    for name in spellings:
        if store.stream_version(name) is not None:
            prefix, _, rest = name.partition("-")
            if prefix in ("request", "case", "survey") and rest:
                add("request", rest, "stream")
            elif prefix == "account" and rest:
                add("account", rest, "stream")
            elif prefix == "tracking" and rest:
                for event in _read(store, name):
                    if isinstance(event.data.get("request_id"), str):
                        add("request", event.data["request_id"], "stream")
            else:
                add("stream", name, "stream")
    if named:
        return list(named.values())

    for s in spellings:
        if _exists(store, f"request-{s}") or _exists(store, f"case-{s}"):
            add("request", s, "request id")
        if _exists(store, f"account-{s}"):
            add("account", s, "account id")
    if named:
        return list(named.values())  # an id (hex) is no code or number: nothing more to read
    latin = latin_digits(text)
    codes = list(dict.fromkeys([latin, latin.replace(" ", "").replace("-", "")]))
    if codes[-1].isdigit():
        for code in codes:
            for event in _read(store, f"tracking-{code}"):
                if isinstance(event.data.get("request_id"), str):
                    add("request", event.data["request_id"], "tracking code")
        for event in _with_field(store, ("RequestSubmitted",), ("tracking_code",), set(codes)):
            add("request", str(event.data["request_id"]), "tracking code")
    numbers = {text, latin, persian_digits(latin)}
    for event in _with_field(store, ("NumberAssigned",), ("registration_number",), numbers):
        add("request", str(event.data["request_id"]), "registration number")
    if latin.isdigit() and len(latin) == 10:
        for event in _with_field(store, ("RequestSubmitted",), ("applicant", "national_code"), {latin}):
            add("request", str(event.data["request_id"]), "national code")
        for event in _with_field(store, ("CitizenRegistered", "StaffCreated"), ("national_code",), {latin}):
            add("account", str(event.data["account_id"]), "national code")
    return list(named.values())


def find_groups(store: EventStore, typed: str) -> list[Group]:
    """The history of each request (then stream, then account) that `typed` names; an
    account's group leaves out what its requests' groups already show. [] when it names
    nothing."""
    groups: list[Group] = []
    shown: set[uuid.UUID] = set()
    for subject in resolve(store, typed):
        events = history_of(store, subject)
        groups.append(Group(subject, events))
    groups.sort(key=lambda g: (KIND_ORDER[g.subject.kind], g.events[0].position if g.events else 0))
    kept: list[Group] = []
    for group in groups:
        if group.subject.kind == "account":
            group.events = [e for e in group.events if e.id not in shown]
        shown |= {e.id for e in group.events}
        if group.events:
            kept.append(group)
    return kept


def history_of(store: EventStore, subject: Subject) -> list[RecordedEvent]:
    """A request's or account's history by its id; a stream's events and their conversations."""
    if subject.kind == "request":
        return find_history(store, subject.id)
    if subject.kind == "account":
        return find_history(store, f"account-{subject.id}")
    return _gather(store, [subject.id], None)


def _exists(store: EventStore, stream: str) -> bool:
    return store.stream_version(stream) is not None


def _read(store: EventStore, stream: str) -> list[RecordedEvent]:
    try:
        return store.read_stream(stream)
    except StreamNotFound:
        return []


def _with_field(
    store: EventStore, types: Sequence[str], path: Sequence[str], values: set[str]
) -> list[RecordedEvent]:
    """The events of `types` whose field at `path` is one of `values`. SQL: the type index,
    then `LIKE` on the field as the store writes it (compact JSON), then an exact comparison."""
    values = {v for v in values if v}
    if not values:
        return []
    if isinstance(store, SqlEventStore):
        table = events_table
        likes = [
            table.c.data.like(
                "%" + _like_escape(json.dumps(path[-1]) + ":" + json.dumps(v, ensure_ascii=False)) + "%",
                escape="\\",
            )
            for v in sorted(values)
        ]
        query = (
            sa.select(*RECORDED_COLUMNS)
            .where(table.c.type.in_(list(types)), sa.or_(*likes))
            .order_by(table.c.position)
        )
        with store.read_engine.connect() as conn:
            candidates: Iterable[RecordedEvent] = _recorded(conn, query)
    else:
        candidates = _all_of(store, types)
    return [e for e in candidates if _field(e.data, path) in values]


def _all_of(store: EventStore, types: Sequence[str]) -> Iterator[RecordedEvent]:
    position = 0
    while page := store.read_all(position, types=types, limit=1000):
        yield from page
        position = page[-1].position


def _field(data: Any, path: Sequence[str]) -> Any:
    for key in path:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


class Actors:
    """Who an account was at a moment, as its own stream (`account-<id>`) tells: its name
    (registered or created with it, changed by `ProfileUpdated`) and its staff roles (granted
    and revoked); and a partner's name, as its stream (`partner-<id>`) tells. Each account's
    and partner's stream is read once."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._accounts: dict[str, list[RecordedEvent]] = {}
        self._partners: dict[str, list[RecordedEvent]] = {}

    def _events(self, account_id: str) -> list[RecordedEvent]:
        if account_id not in self._accounts:
            self._accounts[account_id] = _read(self.store, f"account-{account_id}")
        return self._accounts[account_id]

    def partner_name_at(self, partner_id: str, position: int) -> str | None:
        """The partner's name just before `position` (the name it was added with, also for an
        action recorded before it was added); None for a partner the store does not know."""
        if partner_id not in self._partners:
            self._partners[partner_id] = _read(self.store, partner_stream(partner_id))
        name: str | None = None
        for event in self._partners[partner_id]:
            if event.position >= position and name is not None:
                break
            named = event.data.get("name")
            if event.type == "PartnerAdded" and isinstance(named, str) and named:
                name = named
        return name

    def roles_at(self, account_id: str, position: int) -> tuple[str, ...]:
        """The roles the account held just before `position` (in the order first granted)."""
        roles: dict[str, None] = {}
        for event in self._events(account_id):
            if event.position >= position:
                break
            role = event.data.get("role")
            if event.type == "RoleGranted" and isinstance(role, str):
                roles[role] = None
            elif event.type == "RoleRevoked" and isinstance(role, str):
                roles.pop(role, None)
        return tuple(roles)

    def name_at(self, account_id: str, position: int) -> str | None:
        """The account's name just before `position` (its first name known, for an action
        recorded before the account's own events)."""
        name: str | None = None
        first: str | None = None
        last: str | None = None
        for event in self._events(account_id):
            if event.position >= position and name is not None:
                break
            data = event.data
            if event.type in ("CitizenRegistered", "StaffCreated"):
                name = str(data.get("full_name") or "") or name
                first, last = data.get("first_name") or first, data.get("last_name") or last
            elif event.type == "ProfileUpdated" and (data.get("first_name") or data.get("last_name")):
                first, last = data.get("first_name") or first, data.get("last_name") or last
                name = " ".join(str(part) for part in (first, last) if part)
        return name


def actor_of(event: RecordedEvent) -> str | None:
    """Who did it: the metadata's `actor` (`citizen:<id>`, `staff:<id>`, `service:notify`, …),
    else the staff id a secretariat event carries in its data (the book's `clerk`)."""
    actor = event.metadata.get("actor")
    if isinstance(actor, str) and actor:
        return actor
    for key in ("actor", "clerk"):
        staff = event.data.get(key)
        if isinstance(staff, str) and staff:
            return f"staff:{staff}"
    return None


def roles_of(event: RecordedEvent, actor: str | None, actors: Actors | None) -> tuple[str, ...]:
    """The actor's role(s) when it acted: as the event's metadata recorded them, else as the
    account's stream gave them at that position, else the actor's kind (`citizen`, `partner`,
    `service`, `system` for an event no one is named for)."""
    recorded = event.metadata.get("roles")
    if isinstance(recorded, list | tuple) and recorded:
        return tuple(str(r) for r in recorded)
    if isinstance(event.metadata.get("role"), str):
        return (event.metadata["role"],)
    if actor is None:
        return ("system",)
    prefix, _, account = actor.partition(":")
    if prefix in STAFF_PREFIXES and account and actors is not None:
        held = actors.roles_at(account, event.position)
        if held:
            return held
    if prefix in ROLES:
        return (prefix,)
    return ("staff",) if prefix == "staff" else ()


def name_of(event: RecordedEvent, actor: str | None, actors: Actors | None) -> str | None:
    """The actor's name: the event's `actor_name` (metadata or data), else its account's (a
    partner's: its stream's) name at that time, else the name a citizen gave in the event itself
    (applicant, respondent)."""
    for source in (event.metadata, event.data):
        named = source.get("actor_name")
        if isinstance(named, str) and named.strip():
            return named
    prefix, _, account = (actor or "").partition(":")
    if account and actors is not None:
        known = (
            actors.partner_name_at(account, event.position)
            if prefix == PARTNER_ACTOR
            else actors.name_at(account, event.position)
        )
        if known:
            return known
    if prefix == "citizen":
        applicant = _field(event.data, ("applicant", "full_name"))
        if isinstance(applicant, str) and applicant:
            return applicant
        respondent = event.data.get("respondent")
        if isinstance(respondent, dict):
            parts = [respondent.get("first_name"), respondent.get("last_name")]
            return " ".join(str(p) for p in parts if p) or None
    return None


def describe(event: RecordedEvent, depth: int = 0, actors: Actors | None = None) -> dict[str, Any]:
    """One event as a row of the audit report: who did it by id (`actor`, `actor_id`), by name
    and in which role(s)."""
    actor = actor_of(event)
    roles = roles_of(event, actor, actors)
    reason = event.metadata.get("reason") or event.data.get("reason") or event.data.get("note")
    return {
        "position": event.position,
        "jalali": jalali(event.recorded_at),
        "recorded_at": event.recorded_at.isoformat(),
        "stream": event.stream,
        "revision": event.revision,
        "type": event.type,
        "version": event.version,
        "actor": actor,
        "actor_id": actor.partition(":")[2] or actor if actor else None,
        "actor_name": name_of(event, actor, actors),
        "role": ", ".join(roles) or None,
        "roles": list(roles),
        "reason": reason,
        "event_id": str(event.id),
        "correlation_id": str(event.correlation_id),
        "causation_id": str(event.causation_id) if event.causation_id else None,
        "depth": depth,
        "data": event.data,
    }


def with_causation(events: list[RecordedEvent], actors: Actors | None = None) -> list[dict[str, Any]]:
    """The events as report rows, each with its depth in the causation chain (0: a command's
    first event; n: caused by an event at depth n-1)."""
    by_id = {event.id: event for event in events}
    depths: dict[uuid.UUID, int] = {}

    def depth(event: RecordedEvent) -> int:
        if event.id not in depths:
            depths[event.id] = 0  # guards against a (corrupt) causation cycle
            cause = by_id.get(event.causation_id) if event.causation_id else None
            depths[event.id] = depth(cause) + 1 if cause is not None else 0
        return depths[event.id]

    return [describe(event, depth(event), actors) for event in events]


def group_rows(groups: Sequence[Group], actors: Actors | None = None) -> list[dict[str, Any]]:
    """Each group as a report section: its subject (kind, id, how the subject named it) and its
    rows, each row also saying its group (`group`: `request:<id>`)."""
    sections = []
    for group in groups:
        key = f"{group.subject.kind}:{group.subject.id}"
        rows = [{**row, "group": key} for row in with_causation(group.events, actors)]
        sections.append(
            {
                "kind": group.subject.kind,
                "id": group.subject.id,
                "via": list(group.subject.via),
                "via_fa": [VIA_PERSIAN.get(v, v) for v in group.subject.via],
                "key": key,
                "rows": rows,
            }
        )
    return sections
