"""Submission → number → reply through the real projections, in one process."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pytest
import sqlalchemy as sa

from contracts.envelope import AppendResult, ExpectedVersion, NewEvent, StreamState
from contracts.errors import DomainError
from contracts.rpc import AssignNumber, PostReply, SubmitRequest
from infra.eventstore.sql import SqlEventStore
from services.requests import commands as requests_commands
from services.requests import queries
from services.secretariat import commands as secretariat_commands
from tests.flow import Desk, build_desk

CITIZEN = {
    "national_code": "۰۰۸۴۵۷۵۹۴۸",
    "full_name": "مريم كاظمی",
    "mobile": "+98 912 345 6789",
    "province": "tehran",
    "subject": "درخواست صدور مجوز",
    "text": "متن درخواست",
}


@pytest.fixture
def desk(store: SqlEventStore, tmp_path: Path) -> Desk:
    return build_desk(store, tmp_path)


def _submit(desk: Desk) -> dict[str, str]:
    return requests_commands.submit(desk.store, SubmitRequest.model_validate(CITIZEN))


def test_a_request_travels_from_citizen_to_reply_with_three_sms(desk: Desk) -> None:
    submitted = _submit(desk)
    desk.catch_up()
    inbox = secretariat_commands.inbox(desk.secretariat.db.read, "tehran")
    assert [row["tracking_code"] for row in inbox] == [submitted["tracking_code"]]
    assert inbox[0]["full_name"] == "مریم کاظمی"  # Arabic ي/ك normalised

    number = secretariat_commands.assign_number(
        desk.store,
        AssignNumber(request_id=submitted["request_id"], clerk="clerk-1"),
    )
    desk.catch_up()
    secretariat_commands.post_reply(
        desk.store,
        PostReply(request_id=submitted["request_id"], clerk="clerk-1", body="پاسخ نهایی"),
    )
    desk.catch_up()

    view = queries.track(desk.requests.db.read, submitted["tracking_code"], "0084575948")
    assert view["registration_number"] == number["registration_number"]
    assert number["sequence"] == 1
    assert [r["body"] for r in view["replies"]] == ["پاسخ نهایی"]
    assert view["status"] == "done"

    sent = desk.outbox.messages()
    assert [m["to"] for m in sent] == ["09123456789"] * 3
    assert "۱" in sent[1]["text"] and number["registration_number"].split("/")[0] not in sent[1]["text"]
    assert all(m["requests"] == 1 for m in sent)


def test_replaying_notify_sends_nothing_again(desk: Desk) -> None:
    _submit(desk)
    desk.catch_up()
    before = desk.outbox.messages()
    for projection in desk.notify.projections:
        desk.notify.rebuild(projection)
    desk.catch_up()
    assert desk.outbox.messages() == before
    assert len(before) == 1


def test_a_request_is_numbered_once_and_numbers_have_no_gaps(desk: Desk) -> None:
    ids = [_submit(desk)["request_id"] for _ in range(3)]
    desk.catch_up()
    numbers = [
        secretariat_commands.assign_number(desk.store, AssignNumber(request_id=i, clerk="c"))["sequence"]
        for i in ids
    ]
    assert numbers == [1, 2, 3]
    with pytest.raises(DomainError) as refused:
        secretariat_commands.assign_number(desk.store, AssignNumber(request_id=ids[0], clerk="c"))
    assert refused.value.code == "already_numbered"


def test_reply_needs_a_number_and_only_one_final(desk: Desk) -> None:
    request_id = _submit(desk)["request_id"]
    desk.catch_up()
    reply = PostReply(request_id=request_id, clerk="c", body="پاسخ")
    with pytest.raises(DomainError, match="not_numbered"):
        secretariat_commands.post_reply(desk.store, reply)
    secretariat_commands.assign_number(desk.store, AssignNumber(request_id=request_id, clerk="c"))
    desk.catch_up()
    secretariat_commands.post_reply(desk.store, reply)
    another = PostReply(request_id=request_id, clerk="c", body="پاسخ دوم")
    with pytest.raises(DomainError, match="already_final"):
        secretariat_commands.post_reply(desk.store, another)


def test_rebuilding_read_models_from_zero_gives_the_same_rows(desk: Desk) -> None:
    for _ in range(3):
        request_id = _submit(desk)["request_id"]
        desk.catch_up()
        secretariat_commands.assign_number(desk.store, AssignNumber(request_id=request_id, clerk="c"))
    desk.catch_up()

    def dump(runner_db: sa.Engine, tables: list[sa.Table]) -> list[list[tuple[object, ...]]]:
        with runner_db.connect() as conn:
            return [sorted(tuple(r) for r in conn.execute(sa.select(t))) for t in tables]

    for runner in desk.runners:
        for projection in runner.projections:
            tables = list(projection.metadata.sorted_tables)
            before = dump(runner.db.read, tables)
            runner.rebuild(projection)
            assert dump(runner.db.read, tables) == before


def test_a_repeated_command_records_nothing_twice_and_answers_the_same(desk: Desk) -> None:
    command = SubmitRequest.model_validate({**CITIZEN, "command_id": "retry-key-1"})
    first = requests_commands.submit(desk.store, command)
    assert requests_commands.submit(desk.store, command) == first
    desk.catch_up()
    assert len(secretariat_commands.inbox(desk.secretariat.db.read, "tehran")) == 1
    secretariat_commands.assign_number(desk.store, AssignNumber(request_id=first["request_id"], clerk="c"))
    desk.catch_up()
    reply = PostReply(request_id=first["request_id"], clerk="c", kind="interim", body="در حال بررسی")
    posted = secretariat_commands.post_reply(desk.store, reply)
    assert secretariat_commands.post_reply(desk.store, reply) == posted
    desk.catch_up()
    sent = desk.outbox.messages()
    assert len(sent) == 3 and all(m["requests"] == 1 for m in sent)


class _RepeatedMidway(SqlEventStore):
    """A store that, just before a submission's first append, lets the same command run to the
    end: two presses of one button, or a retry while the first is still in flight."""

    def __init__(self, url: str, command: SubmitRequest) -> None:
        super().__init__(url)
        self.command, self.repeated, self.started = command, dict[str, str](), False

    def append(
        self, stream: str, events: Sequence[NewEvent], expected_version: ExpectedVersion = StreamState.ANY
    ) -> AppendResult:
        if stream.startswith("request-") and not self.started:
            self.started = True
            self.repeated = requests_commands.submit(self, self.command)
        return super().append(stream, events, expected_version)


def test_a_command_repeated_while_in_flight_answers_with_the_first_tracking_code(tmp_path: Path) -> None:
    command = SubmitRequest.model_validate({**CITIZEN, "command_id": "pressed-twice"})
    store = _RepeatedMidway(f"sqlite:///{tmp_path / 'events.db'}", command)
    try:
        first = requests_commands.submit(store, command)
        assert first == store.repeated  # not the code this call reserved before the other ran
        recorded = store.read_stream(f"request-{first['request_id']}")
        assert [e.data["tracking_code"] for e in recorded] == [first["tracking_code"]]
    finally:
        store.close()
