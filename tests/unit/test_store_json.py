"""The SQL store's reading of stored JSON: the fast path for what it wrote, `json.loads` for the rest."""

from __future__ import annotations

import json

import pytest

from infra.eventstore.sql import _json


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"subject": "درخواست مجوز", "n": [1, 2.5, None, True]}),
        json.dumps({"subject": "درخواست"}, ensure_ascii=False),
        '  {"written": "by hand", "with": "blanks"}\n',  # an imported or hand-fixed row
        "{}",
    ],
)
def test_stored_json_reads_as_json_loads_reads_it(text: str) -> None:
    assert _json(text) == json.loads(text)


@pytest.mark.parametrize("text", ['{"a": 1} trailing', '{"a": ', "", "nonsense"])
def test_what_is_not_json_is_refused_as_json_loads_refuses_it(text: str) -> None:
    with pytest.raises(json.JSONDecodeError):
        _json(text)
