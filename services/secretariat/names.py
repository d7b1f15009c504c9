"""Persian names for what events name by slug, and the catalogue's optional event types.

The catalogue (`contracts.catalogue`) is written by another area; the secretariat works whether
or not its event types are registered in this checkout.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

import contracts  # noqa: F401 - registers every event type
from contracts.events import Event, registry

CITIZEN_HOLDER = "متقاضی (برای اصلاح)"


def optional_types(*names: str) -> tuple[type[Event], ...]:
    """The registered event types among `names` (the catalogue's may not exist yet)."""
    with contextlib.suppress(ImportError):
        importlib.import_module("contracts.catalogue")
    return tuple(registry.types[name] for name in names if name in registry.types)


def _provinces() -> dict[str, str]:
    try:
        module: Any = importlib.import_module("contracts.catalogue")
    except ImportError:
        return {}
    return dict(getattr(module, "PROVINCES", {}))


PROVINCES = _provinces()


def province_name(slug: str) -> str:
    """«اصفهان» for `isfahan` (the slug itself when the catalogue does not know it)."""
    return PROVINCES.get(slug, slug)


def secretariat_name(slug: str) -> str:
    """The secretariat of a province, as the cartable shows the holder."""
    return f"دبیرخانه {province_name(slug)}"
