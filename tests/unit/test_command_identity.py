"""One key names one command of one caller: the gateway's JSON body, fingerprint and scoped command
id, and the services' answer to a command id that comes back with other input."""

from __future__ import annotations

import json
import uuid

import pytest

from contracts.envelope import DuplicateEventIds, StreamNotFound, StreamState
from contracts.errors import MESSAGES, DomainError
from contracts.events import new_event
from contracts.notify import ChangeTemplate
from contracts.requests import TrackingCodeIssued
from contracts.rpc import SubmitRequest
from contracts.secretariat_rpc import AddNote, CaseCommand, WithReason
from gateway.body import MAX_DEPTH, NotJson, canonical_json, fingerprint, json_object, too_deep
from gateway.common import client_schema, scoped_command_id
from infra.commands import append_command
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.projections import ProjectionRunner
from services.notify.commands import change_template
from services.requests.commands import request_stream, submit
from services.secretariat import commands as secretariat
from services.secretariat.projections import Inbox
from tests.unit.test_secretariat_cases import CLERK, Desk

CITIZEN = {
    "national_code": "0084575948",
    "full_name": "مریم کاظمی",
    "mobile": "09123456789",
    "province": "tehran",
    "subject": "درخواست مجوز",
    "text": "متن",
}
FIRST, SECOND = "a" * 64, "b" * 64


def refused(code: str) -> pytest.RaisesExc[DomainError]:
    return pytest.raises(DomainError, match=f"^{code}:")


# -- the gateway's side ----------------------------------------------------------------------


def test_a_body_nested_up_to_the_limit_is_read_and_one_level_more_is_refused() -> None:
    deepest = json.dumps({"a": json.loads("[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1))})
    assert json_object(deepest.encode())["a"] is not None
    with pytest.raises(NotJson, match="deeper than 32"):
        json_object(json.dumps({"a": json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)}).encode())
    with pytest.raises(NotJson, match="deeper than 32"):
        json_object(b"[" * 100_000)  # the parser's recursion is never reached
    with pytest.raises(NotJson, match="deeper than 32"):
        json_object(b'{"a":' * 5_000)


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = json.dumps({"subject": "[" * 100 + '\\"{' * 50, "list": [["x"]]})
    assert not too_deep(text)
    assert json_object(text.encode())["list"] == [["x"]]
    assert too_deep("[" * 33 + "]" * 33) and not too_deep("[]" * 1000)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"", "not JSON"),
        (b"{", "not JSON"),
        (b"[]", "JSON object"),
        (b"1", "JSON object"),
        (b'"text"', "JSON object"),
        (b"null", "JSON object"),
        (b"\xff\xfe\xfa", "not UTF-8"),
        (b'{"a": NaN}', "not JSON"),
        (b'{"a": -Infinity}', "not JSON"),
        (b'{"a": ' + b"9" * 5000 + b"}", "not JSON"),
        (b'{"a": "\\ud800"}', "lone UTF-16 surrogate"),
        (b'{"a": ["\\udfff x"]}', "lone UTF-16 surrogate"),
    ],
)
def test_anything_but_one_json_object_is_refused_with_a_reason(raw: bytes, why: str) -> None:
    with pytest.raises(NotJson, match=why):
        json_object(raw)


def test_what_old_clients_send_is_still_read() -> None:
    assert json_object('{"a": "\\ud83d\\ude00 ۱۲۳"}'.encode()) == {"a": "😀 ۱۲۳"}  # a surrogate pair
    assert json_object(b'\xef\xbb\xbf{"a": 1}') == {"a": 1}  # a byte-order mark
    assert json_object('{"a": 1}'.encode("utf-16")) == {"a": 1}


def test_the_fingerprint_is_of_the_method_path_and_canonical_body() -> None:
    body = {"subject": "نامه", "text": "متن", "files": ["f" * 64]}
    same = {"files": ["f" * 64], "text": "متن", "subject": "نامه"}
    assert canonical_json(body) == canonical_json(same)
    assert canonical_json(body).isascii()
    assert fingerprint("POST", "/api/requests", body) == fingerprint("post", "/api/requests", same)
    others = {
        fingerprint("POST", "/api/requests", body | {"text": "متن دیگر"}),
        fingerprint("POST", "/api/requests", body | {"files": ["e" * 64]}),
        fingerprint("PUT", "/api/requests", body),
        fingerprint("POST", "/api/requests/x", body),
        fingerprint("POST", "/api/requests", body),
    }
    assert len(others) == 5
    # The parts are length-prefixed: moving text from the path into the body changes the digest.
    assert fingerprint("POST", "/a", {"b": 1}) != fingerprint("POST", "/a{", {"b": 1})


def test_a_key_names_a_command_of_one_scope() -> None:
    key = "key-" + uuid.uuid4().hex
    anonymous, mine, yours = (scoped_command_id(scope, key) for scope in ("", "acc-1", "acc-2"))
    assert len({anonymous, mine, yours, key}) == 4  # the anonymous key is scoped too
    assert scoped_command_id("acc-1", key) == mine
    # Unchanged for accounts: a retry across the upgrade still finds its command.
    assert mine == uuid.uuid5(uuid.NAMESPACE_OID, f"acc-1:{key}").hex


def test_the_api_documents_no_command_fields_in_bodies() -> None:
    schema = client_schema(SubmitRequest)
    assert "command_id" not in schema["properties"] and "fingerprint" not in schema["properties"]
    assert "subject" in schema["properties"]


def test_the_new_error_codes_have_a_status_and_a_persian_message() -> None:
    assert MESSAGES["invalid_json"][0] == 400
    status, message = MESSAGES["idempotency_key_reused"]
    assert status == 422 and "Idempotency-Key" in message and "کلید تازه" in message


# -- the services' side ----------------------------------------------------------------------


def keyed(fingerprint: str, command_id: str, **fields: str) -> SubmitRequest:
    return SubmitRequest.model_validate(
        {**CITIZEN, **fields, "command_id": command_id, "fingerprint": fingerprint}
    )


def test_a_submission_repeated_with_the_same_input_answers_the_first_and_with_other_input_is_refused(
    store: SqlEventStore,
) -> None:
    command_id = uuid.uuid4().hex
    first = submit(store, keyed(FIRST, command_id))
    assert submit(store, keyed(FIRST, command_id)) == first
    with refused("idempotency_key_reused"):
        submit(store, keyed(SECOND, command_id, national_code="0012345679"))
    (recorded,) = store.read_stream(request_stream(first["request_id"]))
    assert recorded.data["applicant"]["national_code"] == "0084575948"
    assert recorded.metadata["fingerprint"] == FIRST and recorded.metadata["command"] == command_id


def test_a_submission_recorded_before_fingerprints_answers_any_repeat(store: SqlEventStore) -> None:
    command_id = uuid.uuid4().hex
    first = submit(store, SubmitRequest.model_validate({**CITIZEN, "command_id": command_id}))
    assert "fingerprint" not in store.read_stream(request_stream(first["request_id"]))[0].metadata
    assert submit(store, keyed(SECOND, command_id)) == first


def test_an_append_under_a_command_id_already_used_elsewhere_or_with_other_input_is_refused(
    store: SqlEventStore,
) -> None:
    command = CaseCommand(request_id="r", staff=CLERK, fingerprint=FIRST)
    event = TrackingCodeIssued(tracking_code="100000000001", request_id="r")

    def append(stream: str, cmd: CaseCommand) -> int:
        envelope = new_event(event, event_id=cmd.derived("x"))
        return append_command(store, stream, [envelope], StreamState.ANY, cmd).revision

    assert append("s-1", command) == 0
    assert append("s-1", command) == 0  # the same command again: the first append
    with refused("idempotency_key_reused"):
        append("s-1", command.model_copy(update={"fingerprint": SECOND}))
    with refused("idempotency_key_reused"):
        append("s-2", command)  # the store alone would raise DuplicateEventIds
    keyless = CaseCommand(request_id="r", staff=CLERK)
    assert append("s-3", keyless) == 0 and "fingerprint" not in store.read_stream("s-3")[0].metadata
    with pytest.raises(DuplicateEventIds):  # what append_command turns into the refusal
        store.append("s-2", [new_event(event, event_id=command.derived("x"))])


def test_a_template_key_sent_again_with_another_text_or_template_is_refused(store: SqlEventStore) -> None:
    command_id = uuid.uuid4().hex

    def change(text: str, fingerprint: str, template: str = "request_received") -> dict[str, object]:
        command = ChangeTemplate(
            template=template, text=text, admin="admin-1", command_id=command_id, fingerprint=fingerprint
        )
        return change_template(store, command)

    first = change("درخواست شما با کد {tracking_code} ثبت شد.", FIRST)
    assert change("درخواست شما با کد {tracking_code} ثبت شد.", FIRST) == first
    with refused("idempotency_key_reused"):
        change("متن دیگر {tracking_code}", SECOND)
    with refused("idempotency_key_reused"):
        change("کد ورود: {code}", SECOND, template="otp_login")
    (only,) = store.read_stream("notify-template-*-request_received")
    assert only.data["text"] == first["text"]


@pytest.fixture
def cases(store: SqlEventStore, db: Database) -> Desk:
    runner = ProjectionRunner(store, db, [Inbox()])
    runner.setup()
    return Desk(store, runner)


def test_a_clerks_key_names_one_action_on_one_case(cases: Desk) -> None:
    one, other = cases.submit(), cases.submit()
    command_id = uuid.uuid4().hex

    def note(request_id: str, text: str, fingerprint: str) -> dict[str, object]:
        command = AddNote(
            request_id=request_id, staff=CLERK, text=text, command_id=command_id, fingerprint=fingerprint
        )
        return cases.do(secretariat.add_note, command)

    first = note(one, "یادداشت نخست", FIRST)
    assert note(one, "یادداشت نخست", FIRST) == first
    with refused("idempotency_key_reused"):
        note(one, "یادداشت دیگر", SECOND)
    with refused("idempotency_key_reused"):  # the same key on another case (was a 500)
        note(other, "یادداشت نخست", SECOND)
    with refused("idempotency_key_reused"):  # another action under the key: not the note's answer
        cases.do(
            secretariat.release,
            WithReason(request_id=one, staff=CLERK, command_id=command_id, fingerprint=SECOND),
        )
    assert [e.type for e in cases.store.read_stream(f"case-{one}")] == ["InternalNoteAdded"]
    with pytest.raises(StreamNotFound):
        cases.store.read_stream(f"case-{other}")
