"""What a client sends with a command: its JSON body, read within bounds, and the fingerprint that
binds an idempotency key to that input. Pure functions; `gateway.common` turns their refusals
into `invalid_json` answers."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

MAX_DEPTH = 32
"""How deeply arrays and objects may nest in a JSON body (no payload needs more than three)."""


class NotJson(ValueError):
    """The body is not one JSON object within `MAX_DEPTH`; the message says why."""


# A string (skipped whole, escapes and all) or one bracket: enough to measure nesting without
# parsing, so that no body reaches the parser's recursion.
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', re.DOTALL)
# A \u escape of a UTF-16 surrogate: the only way JSON text can name one, paired or not.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_OPENING, _CLOSING = frozenset("[{"), frozenset("]}")


def json_object(raw: bytes) -> dict[str, Any]:
    """`raw` as a JSON object: UTF-8 (or UTF-16/32, as `json.loads` detects them), nested at most
    `MAX_DEPTH` deep, without NaN or Infinity, its strings without lone surrogates (text that
    cannot be stored or sent on as UTF-8). Anything else raises `NotJson`."""
    try:
        text = raw.decode(json.detect_encoding(raw))
    except UnicodeDecodeError:
        raise NotJson("the body is not UTF-8 text") from None
    if too_deep(text):
        raise NotJson(f"the body nests deeper than {MAX_DEPTH} levels")
    try:
        body = json.loads(text, parse_constant=_no_constant)
    except ValueError:  # JSONDecodeError, NaN, a number of more than 4300 digits
        raise NotJson("the body is not JSON") from None
    if not isinstance(body, dict):
        raise NotJson("the body must be a JSON object")
    if _SURROGATE_ESCAPE.search(text):
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise NotJson("the body holds a lone UTF-16 surrogate") from None
    return body


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def too_deep(text: str) -> bool:
    """True when the arrays and objects of JSON `text` nest deeper than `MAX_DEPTH`."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return False  # too few brackets to nest that deep
    depth = 0
    for token in _TOKENS.finditer(text):
        mark = token.group()
        if mark in _OPENING:
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif mark in _CLOSING:
            depth -= 1
    return False


def canonical_json(value: Any) -> bytes:
    """One byte string per JSON value: keys sorted, no spaces, ASCII only (so any text hashes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str).encode()


def fingerprint(method: str, path: str, body: Mapping[str, Any]) -> str:
    """What a client asked for with an idempotency key: sha256 of the method, the path and the
    canonical JSON of the body as validated (uploaded files are in it by their sha256).

    Services keep it in their events' metadata: a command whose body holds a secret (a password,
    a one-time code) must not store its fingerprint, an unsalted hash of that secret (identity's
    commands keep none)."""
    digest = hashlib.sha256()
    for part in (method.upper().encode(), path.encode("utf-8", "surrogatepass"), canonical_json(body)):
        digest.update(len(part).to_bytes(8, "big") + part)
    return digest.hexdigest()
