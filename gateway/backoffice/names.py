"""The names staff read where the services speak in ids: organisational units (the catalogue's
list, which the gateway keeps a few seconds), provinces and roles. The JSON API keeps the ids;
pages, CSV files and PDFs show these names, and every form offers them as a list to choose from."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from contracts.catalogue import PROVINCES
from gateway.common import call_cached

ROLE_LABELS = {
    "desk_officer": "مسئول میز خدمت",
    "clerk": "کارشناس دبیرخانه",
    "representative": "پیگیری کننده (نماینده حوزه تخصصی)",
    "admin": "مدیر سامانه",
}


async def units(request: Request) -> list[dict[str, Any]]:
    """The catalogue's organisational units ({unit, name}), in the order of their names."""
    catalogue = await call_cached(request, "secretariat", "catalogue")
    return list(catalogue["units"])


async def unit_names(request: Request) -> dict[str, str]:
    """Unit id → its name (a unit the list does not know yet keeps its id)."""
    return {unit["unit"]: unit["name"] for unit in await units(request)}


def province_name(province: str | None) -> str:
    """A province's Persian name (`contracts.catalogue.PROVINCES`); an unknown one as it is."""
    return PROVINCES.get(province or "", province or "")
