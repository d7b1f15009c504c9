"""The desk benchmarks' pure helpers, so the benchmarks (not run by the suite) do not rot."""

from __future__ import annotations

import asyncio
import importlib
import json

import pytest

from bench import common, history, lag, load, reads, replay, saturation
from contracts.events import registry
from contracts.persian import is_national_code
from contracts.rpc import SubmitRequest
from contracts.secretariat import NumberAssigned
from contracts.tracking import normalize_tracking_code


def test_percentiles_are_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]  # 1 … 100
    assert common.percentile(values, 0.5) == 50.0
    assert common.percentile(values, 0.95) == 95.0
    assert common.percentile(values, 0.99) == 99.0
    assert common.percentile(values, 1.0) == 100.0
    assert common.percentile([], 0.99) == 0.0
    assert common.latency_ms([0.001, 0.002, 0.003])["p50_ms"] == 2.0


def test_citizens_submit_valid_and_distinct_payloads() -> None:
    bodies = [SubmitRequest.model_validate(common.submission(i)) for i in (0, 1, 111111111, 999_999)]
    assert all(is_national_code(b.national_code) for b in bodies)
    assert len({b.national_code for b in bodies}) == len({b.mobile for b in bodies}) == 4


def test_history_is_valid_events_with_gapless_numbers() -> None:
    assert history.events_per_request() == pytest.approx(7.4)
    batches = list(history.rows(10))
    positions = [row["position"] for batch, _ in batches for row in batch]
    assert positions == list(range(1, len(positions) + 1))
    events = [
        registry.model(row["type"]).model_validate(json.loads(row["data"]))
        for batch, _ in batches
        for row in batch
    ]
    numbers = [e.sequence for e in events if isinstance(e, NumberAssigned)]
    assert numbers == list(range(1, len(numbers) + 1))
    assert all(normalize_tracking_code(history.tracking_code(i)) for i in (0, 5, 10**6))


def test_load_loops_count_successes_and_errors() -> None:
    async def attempt(index: int) -> bool:
        if index % 4 == 0:
            raise RuntimeError("refused")
        return True

    result = asyncio.run(common.open_loop(attempt, rate=200, seconds=0.05))
    assert result.done == 10
    assert result.errors == 3
    assert result.first_errors[0] == "RuntimeError: refused"
    assert common.threaded_loop(lambda i: True, clients=2, seconds=0.02).errors == 0


@pytest.mark.parametrize("module", [load, lag, replay, reads])
def test_each_benchmark_parses_its_options(module: object) -> None:
    args = importlib.import_module(module.__name__).parse_args([])  # type: ignore[attr-defined]
    assert vars(args)


def test_verdicts_and_rows() -> None:
    figures = {"per_s": 310.0, "p99_ms": 150.0, "errors": 0}
    assert load.verdict(figures) == {"submissions_per_s": True, "p99_ms": True, "errors": True}
    assert load.verdict({**figures, "errors": 1})["errors"] is False
    row = reads.citizen_row(7)
    assert row["request_id"] == f"{7:032x}" and is_national_code(row["national_code"])


def test_saturation_tells_the_desk_s_processes_from_the_machine_s() -> None:
    names = {41: "requests"}
    assert saturation._part(41, "python -m nameko run services.requests.service", names) == "requests"
    assert (
        saturation._part(7, "postgres: 15/main: postgres pishkhan 127.0.0.1(5000) idle", names)
        == "postgresql"
    )
    assert saturation._part(8, "/usr/lib/erlang/erts/bin/beam.smp -- -s rabbit boot", names) == "rabbitmq"
    assert saturation._part(9, "bash", names) is None


def test_the_machine_speed_is_the_best_of_its_tries(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter([0.0, 0.09, 1.0, 1.04, 2.0, 2.07])  # three tries: 90, 40 and 70 ms
    monkeypatch.setattr(common.time, "perf_counter", lambda: next(clock))
    assert common.python_speed_ms(tries=3, apart=0.0) == 40.0
