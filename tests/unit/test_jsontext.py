"""`infra.jsontext` writes exactly what `json.dumps` writes with the same arguments."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from infra import jsontext

FORMS = [
    (jsontext.text, {}),
    (jsontext.text_sorted, {"sort_keys": True}),
    (jsontext.compact, {"separators": (",", ":")}),
    (jsontext.compact_sorted, {"separators": (",", ":"), "sort_keys": True}),
]

values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(),  # Persian, quotes, control characters, lone surrogates
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@pytest.mark.parametrize(("dumps", "arguments"), FORMS, ids=[f.__name__ for f, _ in FORMS])
@given(value=values)
def test_the_text_is_json_dumps_own(dumps: Any, arguments: dict[str, Any], value: Any) -> None:
    assert dumps(value) == json.dumps(value, ensure_ascii=False, **arguments)


@pytest.mark.parametrize(("dumps", "arguments"), FORMS, ids=[f.__name__ for f, _ in FORMS])
def test_what_json_cannot_write_is_refused_as_json_dumps_refuses_it(
    dumps: Any, arguments: dict[str, Any]
) -> None:
    with pytest.raises(TypeError, match="Object of type object is not JSON serializable"):
        dumps({"a": [object()]})
    assert dumps({"سلام": "«دنیا»", "n": float("inf")}) == json.dumps(
        {"سلام": "«دنیا»", "n": float("inf")}, ensure_ascii=False, **arguments
    )
