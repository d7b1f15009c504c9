"""Write the JSON schema of every event type to `contracts/schemas/`.

    python -m contracts.schemas          # regenerate
    python -m contracts.schemas --check  # exit 1 if a stored schema differs from the code

A stored schema of a released version must never change: change the event by adding a new
version and an upcaster instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import contracts  # noqa: F401 - registers the event types
from contracts.events import registry

FOLDER = Path(__file__).parent / "schemas"


def rendered() -> dict[str, str]:
    """File name → JSON text for every current event type."""
    return {
        f"{key}.json": json.dumps(schema, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        for key, schema in registry.json_schemas().items()
    }


def differences() -> list[str]:
    """Names of schema files that are missing or differ from the code."""
    return [
        name
        for name, text in rendered().items()
        if not (FOLDER / name).exists() or (FOLDER / name).read_text(encoding="utf-8") != text
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--check", action="store_true")
    if parser.parse_args().check:
        stale = differences()
        if stale:
            print("stale event schemas:", ", ".join(stale))
            sys.exit(1)
        return
    FOLDER.mkdir(exist_ok=True)
    for name, text in rendered().items():
        (FOLDER / name).write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
