"""bench.compare's handling of its benchmark runs, with stand-in commands (no desk, no benchmark)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bench import compare


def _child(tmp_path: Path, code: str, desk: str = "base") -> compare.Run:
    command = [sys.executable, "-c", code]
    return compare.launch("bench.lag", command, tmp_path, desk, "abc1234", logs=tmp_path / "logs")


def test_a_run_that_prints_no_json_and_fails_is_named_with_its_stderr(tmp_path: Path) -> None:
    failing = _child(
        tmp_path,
        "import sys\n"
        "print('starting', flush=True)\n"
        "for n in range(1, 31):\n"
        "    print(f'progress line {n}', file=sys.stderr)\n"
        "print('E: could not get lock', file=sys.stderr)\n"
        "sys.exit(3)\n",
    )
    fine = _child(tmp_path, "print('note'); print('{\"benchmark\": \"lag\"}'); print('done')", "head")

    with pytest.raises(compare.RunFailed) as failed:
        compare.collect([failing, fine])

    message = str(failed.value)
    assert "bench.lag for base (revision abc1234) exited with 3" in message
    assert str(tmp_path / "logs" / "base-lag.log") in message
    assert message.endswith("progress line 30\nE: could not get lock")
    assert "progress line 12" in message
    assert "progress line 11\n" not in message  # only the last 20 lines
    assert "for head" not in message  # the run that printed its figures is not blamed
    assert "Expecting value" not in message


def test_a_run_that_exits_0_without_json_is_a_failure_too(tmp_path: Path) -> None:
    silent = _child(tmp_path, "import sys; print('no figures'); print('boom', file=sys.stderr)")

    with pytest.raises(compare.RunFailed, match=r"exited with 0 but printed no JSON line(.|\n)*boom$"):
        compare.collect([silent])


def test_both_failures_are_told(tmp_path: Path) -> None:
    runs = [_child(tmp_path, "raise SystemExit('base broke')")]
    runs.append(_child(tmp_path, "raise SystemExit('head broke')", "head"))

    with pytest.raises(compare.RunFailed) as failed:
        compare.collect(runs)

    assert "base (revision abc1234) exited with 1" in str(failed.value)
    assert "head (revision abc1234) exited with 1" in str(failed.value)
    assert "base broke" in str(failed.value) and "head broke" in str(failed.value)


def test_the_figures_are_the_last_json_line(tmp_path: Path) -> None:
    run = _child(tmp_path, "print('{\"old\": 1}'); print('{\"new\": 2}'); print('{not json'); print('bye')")

    assert compare.collect([run]) == {"base": {"new": 2}}
    assert compare.last_json("[1, 2]\n{} trailing\n") is None
