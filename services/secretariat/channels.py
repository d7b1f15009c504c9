"""Where a request came from, for the staff's pages: a partner system (Open311) or the citizen.

The cartable's row keeps the applicant's kind; a partner-filed request's `partner_id` is in what
the applicant gave (`secretariat_case_details`) and the partner's name in `secretariat_partners`,
both from the stored events. Read by key, for the partner-filed requests of a page only: a page
of citizens' requests costs no query more.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from contracts.partners import partner_actor
from services.secretariat.tables import case_details_table, partners_table

PARTNER = "partner"
"""The applicant's kind of a request a partner system filed (`contracts.requests.Applicant`)."""

PARTNER_SYSTEM = "سامانهٔ همکار"


def partner_system(name: str | None) -> str:
    """How the workflow history names a partner system that acted (filed the request):
    «سامانهٔ همکار: <name>», or «سامانهٔ همکار» alone while the desk does not know its name."""
    return (f"{PARTNER_SYSTEM}: {name}" if name else PARTNER_SYSTEM)[:200]  # actor_name's width


def add_partners(conn: sa.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Give each cartable row its `partner_id` and `partner_name`: None for a request the
    citizen filed; for a partner's, the name None while this desk does not know the partner
    (added before the desk kept partners, until a replay), the id None likewise for a request
    filed before the applicant's details were kept."""
    filed = [row["request_id"] for row in rows if row.get("applicant_kind") == PARTNER]
    ids: dict[str, str | None] = {}
    if filed:
        details = case_details_table.c
        given = sa.select(details.request_id, details.applicant).where(details.request_id.in_(filed))
        for request_id, applicant in conn.execute(given):
            ids[request_id] = json.loads(applicant).get("partner_id") if applicant else None
    names: dict[str, str] = {}
    wanted = sorted({partner for partner in ids.values() if partner})
    if wanted:
        known = sa.select(partners_table.c.partner_id, partners_table.c.name)
        found = conn.execute(known.where(partners_table.c.partner_id.in_(wanted)))
        names = {partner: name for partner, name in found}
    for row in rows:
        partner = ids.get(row["request_id"])
        row["partner_id"] = partner
        row["partner_name"] = names.get(partner) if partner else None


def name_partner_steps(case: dict[str, Any], steps: Sequence[dict[str, Any]]) -> None:
    """Name the partner system in the steps of a partner-filed `case` (a row `add_partners` gave
    its partner) that a desk recorded before the history named partners: their actor reads
    `citizen:` with no national code. A replay of `secretariat.cases` records them anew."""
    if case.get("applicant_kind") != PARTNER:
        return
    for step in steps:
        if step["actor"] == "citizen:":
            step["actor"] = partner_actor(case.get("partner_id") or "")
            step["actor_name"] = partner_system(case.get("partner_name"))
