"""The overview per secretariat and unit: open, overdue, replied, time to the final reply."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import sqlalchemy as sa

from contracts.secretariat_rpc import Staff
from services.secretariat.case import CITIZEN, DONE, SECRETARIAT, UNIT
from services.secretariat.names import province_name
from services.secretariat.queries import overdue_clause, scope_filter
from services.secretariat.tables import cases_table, units_table

c = cases_table.c


def percentile(values: list[int], share: float) -> float | None:
    """The nearest-rank percentile (`share` in 0–1) of `values`, None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[max(math.ceil(share * len(ordered)) - 1, 0)])


def _group(conn: sa.Connection, staff: Staff, key: sa.ColumnElement[Any]) -> dict[str, dict[str, Any]]:
    scope = scope_filter(staff)
    counts = (
        sa.select(
            key.label("key"),
            sa.func.sum(sa.case((c.stage.in_((SECRETARIAT, UNIT)), 1), else_=0)).label("open"),
            sa.func.sum(sa.case((c.stage == CITIZEN, 1), else_=0)).label("waiting_citizen"),
            sa.func.sum(sa.case((overdue_clause(), 1), else_=0)).label("overdue"),
            sa.func.sum(sa.case((c.reply_days.is_not(None), 1), else_=0)).label("replied"),
        )
        .where(scope)
        .group_by(key)
    )
    groups: dict[str, dict[str, Any]] = {}
    for row in conn.execute(counts):
        groups[row.key or ""] = {
            "open": int(row.open or 0),
            "waiting_citizen": int(row.waiting_citizen or 0),
            "overdue": int(row.overdue or 0),
            "replied": int(row.replied or 0),
        }
    durations: dict[str, list[int]] = defaultdict(list)
    replied = sa.select(key.label("key"), c.reply_days).where(
        scope, c.reply_days.is_not(None), c.stage == DONE
    )
    for reply in conn.execute(replied):
        durations[reply.key or ""].append(int(reply.reply_days))
    for name, values in groups.items():
        found = durations.get(name, [])
        values["average_days"] = round(sum(found) / len(found), 1) if found else None
        values["p90_days"] = percentile(found, 0.9)
    return groups


def overview(db_read: sa.Engine, staff: Staff) -> dict[str, Any]:
    """The figures per secretariat and per unit that `staff` may see."""
    with db_read.connect() as conn:
        by_province = _group(conn, staff, c.province)
        by_unit = _group(conn, staff, c.unit)
        names = dict(conn.execute(sa.select(units_table.c.unit, units_table.c.name)).all())
    rows = [
        {"group": "secretariat", "key": k, "name": province_name(k), **v}
        for k, v in sorted(by_province.items())
    ]
    rows += [
        {"group": "unit", "key": k, "name": names.get(k, k) or "بدون واحد", **v}
        for k, v in sorted(by_unit.items())
    ]
    return {"rows": rows}
