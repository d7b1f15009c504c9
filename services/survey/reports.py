"""Survey reports per province, unit, service and Jalali period: counts, averages per axis and
question, distributions and the trend. A group of fewer than `MIN_GROUP` responses is never
shown apart. Provinces and units are named by their ids here (the API's); the back office shows
their Persian names."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from statistics import fmean
from typing import Any

import sqlalchemy as sa

from contracts.catalogue import PROVINCES
from contracts.survey import AXES, MIN_GROUP, QUESTIONS, SCALE
from services.survey.projections import responses_table

OTHERS = "سایر (گروه‌های کمتر از ۱۰ پاسخ)"
CSV_COLUMNS = ("province", "unit", "service", "month", "count", *AXES, *(q.id for q in QUESTIONS))
"""The CSV's columns: where, what and when, then the count and the averages per axis and question."""


def _rows(db_read: sa.Engine, filters: dict[str, str]) -> list[dict[str, Any]]:
    query = sa.select(responses_table).order_by(responses_table.c.answered_at)
    if filters.get("unit"):
        query = query.where(responses_table.c.unit == filters["unit"])
    if filters.get("province"):
        query = query.where(responses_table.c.province == filters["province"])
    if filters.get("service_id"):
        query = query.where(responses_table.c.service_id == filters["service_id"])
    period = filters.get("period", "")
    if len(period) == 7:
        query = query.where(responses_table.c.month == period)
    elif len(period) == 4:
        query = query.where(responses_table.c.month.startswith(period + "/"))
    with db_read.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def summary(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Count, average per axis and per question (1–5) and each question's distribution; only
    the count when there are fewer than `MIN_GROUP` rows."""
    if len(rows) < MIN_GROUP:
        return {"count": len(rows), "shown": False}
    questions = []
    for q in QUESTIONS:
        values = [row[q.id] for row in rows]
        counts = [values.count(point) for point in SCALE]
        questions.append(
            {
                "id": q.id,
                "number": q.number,
                "axis": q.axis,
                "text": q.text,
                "average": round(fmean(values), 2),
                "distribution": counts,
                "percent": [round(100 * c / len(values), 1) for c in counts],
            }
        )
    axes = {
        axis: round(fmean(row[q.id] for row in rows for q in QUESTIONS if q.axis == axis), 2) for axis in AXES
    }
    overall = round(fmean(row[q.id] for row in rows for q in QUESTIONS), 2)
    return {"count": len(rows), "shown": True, "axes": axes, "average": overall, "questions": questions}


def _groups(rows: Iterable[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row[key] or "—"].append(row)
    shown = [(name, members) for name, members in sorted(grouped.items()) if len(members) >= MIN_GROUP]
    hidden = [(name, members) for name, members in sorted(grouped.items()) if len(members) < MIN_GROUP]
    result = [{"name": name, **_brief(members)} for name, members in shown]
    if hidden:
        merged = [row for _, members in hidden for row in members]
        result.append({"name": OTHERS, **_brief(merged)})
    return result


def _brief(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    full = summary(rows)
    return {k: full[k] for k in ("count", "shown", "axes", "average") if k in full}


def report(db_read: sa.Engine, filters: dict[str, str]) -> dict[str, Any]:
    """The report for `filters` (province, unit, service_id, period = Jalali yyyy or yyyy/mm)."""
    rows = _rows(db_read, filters)
    with db_read.connect() as conn:
        units = [r[0] for r in conn.execute(sa.select(responses_table.c.unit).distinct()) if r[0]]
        provinces = {r[0] for r in conn.execute(sa.select(responses_table.c.province).distinct()) if r[0]}
        services = conn.execute(
            sa.select(responses_table.c.service_id, responses_table.c.service_name).distinct()
        ).all()
    return {
        "filters": filters,
        **summary(rows),
        "trend": _groups(rows, "month"),
        "by_province": _groups(rows, "province"),
        "by_unit": _groups(rows, "unit"),
        "by_service": _groups(rows, "service_name"),
        "provinces": [p for p in PROVINCES if p in provinces] + sorted(provinces - PROVINCES.keys()),
        "units": sorted(units),
        "services": sorted(
            {(s.service_id, s.service_name or s.service_id) for s in services if s.service_id}
        ),
        "axis_names": AXES,
        "scale": SCALE,
    }


def csv_rows(db_read: sa.Engine, filters: dict[str, str]) -> list[list[str]]:
    """A header of `CSV_COLUMNS`, then one line per province, unit, service and month with at
    least `MIN_GROUP` responses: count and averages per axis and per question; smaller groups
    are merged into one line of others."""
    rows = _rows(db_read, filters)
    grouped: dict[tuple[str, str, str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        service = row["service_name"] or row["service_id"] or ""
        grouped[(row["province"] or "", row["unit"] or "", service, row["month"])].append(row)
    lines = [list(CSV_COLUMNS)]
    others: list[dict[str, Any]] = []
    for (province, unit, service, month), members in sorted(grouped.items()):
        if len(members) < MIN_GROUP:
            others.extend(members)
            continue
        lines.append([province, unit, service, month, *_numbers(members)])
    if others:
        lines.append([OTHERS, "", "", "", *_numbers(others)])
    return lines


def _numbers(rows: Sequence[dict[str, Any]]) -> list[str]:
    full = summary(rows)
    if not full["shown"]:
        return [str(full["count"]), *([""] * (len(AXES) + len(QUESTIONS)))]
    return [
        str(full["count"]),
        *(f"{full['axes'][a]:.2f}" for a in AXES),
        *(f"{q['average']:.2f}" for q in full["questions"]),
    ]
