"""The EventStoreDB adapter without a server: envelope mapping, expected versions, filters,
the eventlet helper, and failing fast when the server is not there."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from esdbclient import RecordedEvent as EsdbRecordedEvent
from esdbclient import StreamState as EsdbStreamState
from esdbclient.common import construct_filter_exclude_regex, construct_filter_include_regex
from esdbclient.exceptions import WrongCurrentVersion
from esdbclient.protos.Grpc import shared_pb2, status_pb2, streams_pb2
from esdbclient.streams import BaseStreamsService
from google.protobuf import empty_pb2

from contracts.envelope import EventStoreError, NewEvent, StreamState
from infra.eventstore.esdb import (
    SYSTEM_TYPES,
    EsdbEventStore,
    EventStoreUnavailable,
    current_version,
    decode_event,
    encode_event,
    expectation_met,
    is_system_event,
    reported_version,
    run_blocking,
    type_filter,
)

REPO = Path(__file__).resolve().parents[2]


def _recorded(
    event: NewEvent,
    *,
    stream: str = "case-1",
    revision: int = 4,
    position: int | None = 123_456,
    recorded_at: datetime | None = None,
) -> EsdbRecordedEvent:
    """What esdbclient would hand back for `event` once stored."""
    stored = encode_event(event)
    return EsdbRecordedEvent(
        type=stored.type,
        data=stored.data,
        metadata=stored.metadata,
        content_type=stored.content_type,
        id=stored.id,
        stream_name=stream,
        stream_position=revision,
        commit_position=position,
        prepare_position=position,
        recorded_at=recorded_at,
    )


def _foreign(data: bytes, metadata: bytes, *, type_: str = "Noted", stream: str = "x") -> EsdbRecordedEvent:
    return EsdbRecordedEvent(
        type=type_,
        data=data,
        metadata=metadata,
        content_type="application/octet-stream",
        id=uuid.uuid4(),
        stream_name=stream,
        stream_position=0,
        commit_position=None,
        prepare_position=None,
    )


# -- envelope ↔ esdbclient events ------------------------------------------------------------


def test_encode_keeps_id_and_type_and_writes_utf8_json() -> None:
    cause = uuid.uuid4()
    event = NewEvent(
        "Noted",
        {"text": "سلام", "n": [1, 2]},
        version=3,
        causation_id=cause,
        metadata={"actor": "کارمند"},
    )
    stored = encode_event(event)
    assert (stored.id, stored.type, stored.content_type) == (event.id, "Noted", "application/json")
    assert "سلام".encode() in stored.data  # ensure_ascii=False: no \u escapes
    assert json.loads(stored.data) == event.data
    assert json.loads(stored.metadata) == {
        "version": 3,
        "correlation_id": str(event.id),  # a new conversation starts at the event itself
        "causation_id": str(cause),
        "meta": {"actor": "کارمند"},
    }


def test_decode_round_trips_the_envelope() -> None:
    cause = uuid.uuid4()
    correlation = uuid.uuid4()
    event = NewEvent(
        "Answered",
        {"subject": "درخواست مجوز", "nested": {"list": [1, 2, 3]}, "none": None},
        version=2,
        correlation_id=correlation,
        causation_id=cause,
        metadata={"ip": "10.0.0.1"},
    )
    created = datetime(2024, 3, 20, 12, 30, tzinfo=UTC)
    decoded = decode_event(
        _recorded(event, stream="case-9", revision=7, position=987_654, recorded_at=created)
    )
    assert decoded.id == event.id
    assert (decoded.type, decoded.version, decoded.data) == ("Answered", 2, event.data)
    assert (decoded.stream, decoded.revision, decoded.position) == ("case-9", 7, 987_654)
    assert (decoded.correlation_id, decoded.causation_id) == (correlation, cause)
    assert decoded.metadata == {"ip": "10.0.0.1"}
    assert decoded.recorded_at == created


def test_decode_falls_back_for_missing_position_and_time() -> None:
    now = datetime(2025, 1, 1, tzinfo=UTC)
    event = NewEvent("Noted", {})
    decoded = decode_event(_recorded(event, position=None, recorded_at=None), now=now)
    assert (decoded.position, decoded.recorded_at) == (0, now)
    assert (decoded.correlation_id, decoded.causation_id) == (event.id, None)
    assert decode_event(_recorded(event, recorded_at=None)).recorded_at.tzinfo is not None


def test_decode_tolerates_events_written_by_others() -> None:
    bare = decode_event(_foreign(b"", b""))
    assert (bare.data, bare.metadata, bare.version, bare.causation_id) == ({}, {}, 1, None)
    assert bare.correlation_id == bare.id
    odd = decode_event(_foreign(b"\xff\xfenot json", b'{"version": "x", "correlation_id": 5}'))
    assert odd.data == {"_raw": "\ufffd\ufffdnot json"}
    assert (odd.version, odd.correlation_id) == (1, odd.id)
    assert decode_event(_foreign(b"[1, 2]", b"[]")).data == {"_value": [1, 2]}


# -- expected versions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (StreamState.ANY, EsdbStreamState.ANY),
        (StreamState.NO_STREAM, EsdbStreamState.NO_STREAM),
        (StreamState.STREAM_EXISTS, EsdbStreamState.EXISTS),
        (0, 0),
        (41, 41),
    ],
)
def test_expected_versions_map_to_esdbclient(ours: StreamState | int, theirs: EsdbStreamState | int) -> None:
    assert current_version(ours) == theirs


@pytest.mark.parametrize("bad", [-1, True, "1", None])
def test_unknown_expected_versions_are_refused(bad: object) -> None:
    with pytest.raises(EventStoreError):
        current_version(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("expected", "actual", "met"),
    [
        (StreamState.ANY, None, True),
        (StreamState.ANY, 3, True),
        (StreamState.NO_STREAM, None, True),
        (StreamState.NO_STREAM, 0, False),
        (StreamState.STREAM_EXISTS, 0, True),
        (StreamState.STREAM_EXISTS, None, False),
        (2, 2, True),
        (2, 1, False),
        (0, None, False),
    ],
)
def test_expectation_met(expected: StreamState | int, actual: int | None, met: bool) -> None:
    assert expectation_met(expected, actual) is met


def _refusal_message(current: int | None, expected: EsdbStreamState | int) -> str:
    """The message esdbclient itself builds from the server's wrong-expected-version answer."""
    wrong = shared_pb2.WrongExpectedVersion()
    if current is None:
        wrong.current_no_stream.CopyFrom(empty_pb2.Empty())
    else:
        wrong.current_stream_revision = current
    status = status_pb2.Status(message="WrongExpectedVersion")
    status.details.Pack(wrong)
    response = streams_pb2.BatchAppendResp(error=status)
    with pytest.raises(WrongCurrentVersion) as raised:
        BaseStreamsService._convert_batch_append_resp(response, "case-1", expected)
    return str(raised.value)


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        (1, EsdbStreamState.ANY),
        (0, EsdbStreamState.NO_STREAM),
        (12, 3),
        (None, EsdbStreamState.EXISTS),
        (None, 0),
    ],
)
def test_the_actual_version_is_read_from_esdbclients_message(
    current: int | None, expected: EsdbStreamState | int
) -> None:
    assert reported_version(_refusal_message(current, expected)) == (True, current)


def test_a_message_without_a_version_says_so() -> None:
    assert reported_version("Wrong expected version.") == (False, None)


# -- `$all` filters --------------------------------------------------------------------------


def _server_side(pattern: str, event_type: str) -> bool:
    """EventStoreDB applies the regex with IsMatch, i.e. a search."""
    return re.search(pattern, event_type) is not None


def test_type_filter_matches_exactly_the_wanted_types() -> None:
    wanted = ["Case.Opened-v2", "پاسخ داده شد", "Noted"]
    regex = construct_filter_include_regex([type_filter(wanted)])
    for name in wanted:
        assert _server_side(regex, name)
    for name in ["NotedLater", "Re-Noted", "CaseXOpened-v2", "Case.Opened-v2x", "$Noted", ""]:
        assert not _server_side(regex, name), name
    # What the grouping prevents: esdbclient's own join anchors only the ends.
    assert _server_side(construct_filter_include_regex(["Noted", "Other"]), "NotedLater")


def test_system_event_types_are_excluded_on_the_server() -> None:
    regex = construct_filter_exclude_regex(SYSTEM_TYPES)
    assert _server_side(regex, "Noted")
    assert _server_side(regex, "PersistentConfigured")
    for name in ["$metadata", "$>", "$statsCollected", "$", "PersistentConfig1"]:
        assert not _server_side(regex, name), name


def test_system_events_are_recognised_by_type_or_stream() -> None:
    assert is_system_event(_foreign(b"", b"", type_="$metadata", stream="$$case-1"))
    assert is_system_event(_foreign(b"", b"", type_="Result", stream="$projections-x-result"))
    assert is_system_event(_foreign(b"", b"", type_="$>", stream="case-1"))
    assert not is_system_event(_foreign(b"", b"", type_="Noted", stream="case-1"))


# -- running calls, with and without eventlet ------------------------------------------------


def test_run_blocking_calls_directly_without_eventlet_patching() -> None:
    assert run_blocking(threading.get_ident) == threading.get_ident()
    with pytest.raises(ValueError, match="invalid literal"):
        run_blocking(int, "x")


@pytest.mark.timeout(60)
def test_run_blocking_uses_a_real_thread_under_eventlet_monkey_patching() -> None:
    script = """
import eventlet
eventlet.monkey_patch()
from eventlet import patcher
from infra.eventstore.esdb import run_blocking
real = patcher.original("threading")
assert run_blocking(real.get_ident) != real.get_ident(), "ran on the hub's thread"
try:
    run_blocking(int, "x")
except ValueError:
    pass
else:
    raise AssertionError("error lost")
ticks = []
def tick():
    for _ in range(5):
        ticks.append(1)
        eventlet.sleep(0.01)
ticker = eventlet.spawn(tick)
run_blocking(patcher.original("time").sleep, 0.3)
assert len(ticks) == 5, ticks
ticker.wait()
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", script],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
    assert "Traceback" not in done.stderr  # tpool would print the ValueError's traceback


# -- no server -------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts TCP connections and then never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    server.settimeout(0.1)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue
            except OSError:
                return

    acceptor = threading.Thread(target=accept, daemon=True)
    acceptor.start()
    try:
        yield int(server.getsockname()[1])
    finally:
        stop.set()
        acceptor.join(timeout=2)
        server.close()
        for connection in accepted:
            connection.close()


@pytest.mark.timeout(30)
def test_a_refused_connection_fails_fast_with_a_clear_error() -> None:
    port = _free_port()
    started = time.monotonic()
    with pytest.raises(EventStoreUnavailable) as raised:
        EsdbEventStore(f"kurrentdb://admin:s3cret@127.0.0.1:{port}?Tls=false", connect_timeout=2)
    assert time.monotonic() - started < 10
    message = str(raised.value)
    assert f"kurrentdb://127.0.0.1:{port}" in message
    assert "did not answer" in message  # so esdbclient accepted kurrentdb:// (as esdb://)
    assert "s3cret" not in message and "admin" not in message


@pytest.mark.timeout(30)
def test_a_server_that_never_answers_fails_within_the_timeout(silent_server: int) -> None:
    started = time.monotonic()
    with pytest.raises(EventStoreUnavailable, match=r"did not answer within 0\.5s"):
        EsdbEventStore(f"esdb://127.0.0.1:{silent_server}?Tls=false", connect_timeout=0.5)
    assert time.monotonic() - started < 5  # one retry by esdbclient: about twice the timeout
