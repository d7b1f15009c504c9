"""The citizen cartable's columns as seed 004 shows them: waiting time (زمان انتظار), the current
holder (فعلی), the workflow (گردش کار) and the report (گزارش), for each request and for the
identity-verification request, which sits in the same folders by its state.

Read from what the services answered (the requests' cartable, identity's case); the clock only
measures how long a request has waited.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from contracts.catalogue import PROVINCES
from contracts.persian import persian_digits
from gateway.common import ApiError, call
from gateway.rpc import ServiceUnavailable

VERIFICATION_FOLDER = {
    "draft": "awaiting",
    "rejected": "awaiting",
    "submitted": "progress",
    "approved": "done",
}
"""The verification request's state → the cartable folder it is listed in (seed 004: a rejected
one waits for the citizen's action, a sent one is in progress, an approved one is done)."""

VERIFICATION_STATE = {
    "draft": ("ثبت موقت؛ هنوز ارسال نشده", "red"),
    "rejected": ("عدم تایید؛ در انتظار اصلاح شما", "red"),
    "submitted": ("در انتظار بررسی مسئول میز خدمت", "blue"),
    "approved": ("تایید شده", "green"),
}


def waited(since: str | None, until: str | None = None, now: datetime | None = None) -> str:
    """How long a request has waited for its answer, in Persian: from `since` to `until` (its
    final reply), or to `now` while it is open. Days and hours; minutes under an hour."""
    if not since:
        return "—"
    start = datetime.fromisoformat(since)
    end = datetime.fromisoformat(until) if until else (now or datetime.now(UTC))
    minutes = max(0, int((end - start).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        text = f"{days} روز" + (f" و {hours} ساعت" if hours else "")
    elif hours:
        text = f"{hours} ساعت"
    else:
        text = f"{minutes} دقیقه"
    return persian_digits(text)


def holder(row: dict[str, Any]) -> str:
    """Whose cartable the request is in now: the province's secretariat while it is handled, the
    citizen while it waits for their correction, nobody once it is done."""
    status = row.get("status")
    if status == "returned":
        return "شما (متقاضی)"
    if status == "done":
        return "— (پایان یافته)"
    province = PROVINCES.get(row.get("province") or "", row.get("province") or "")
    return f"دبیرخانه استان {province}".strip()


def workflow(row: dict[str, Any]) -> list[dict[str, Any]]:
    """The request's four steps (as its page's timeline names them), each done or ahead."""
    status = row.get("status")
    replied = status in ("replied", "done")
    steps = [
        ("ثبت درخواست", True),
        ("ثبت در دبیرخانه", bool(row.get("registration_number"))),
        ("بررسی و پاسخ", replied),
        ("پاسخ نهایی", status == "done"),
    ]
    return [{"label": label, "done": done} for label, done in steps]


def request_rows(items: list[dict[str, Any]], now: datetime | None = None) -> list[dict[str, Any]]:
    """The requests' rows with seed 004's columns."""
    return [
        {
            **item,
            "waited": waited(item.get("submitted_at"), item.get("final_at"), now),
            "holder": holder(item),
            "workflow": workflow(item),
        }
        for item in items
    ]


def verification_state(case: dict[str, Any] | None) -> str | None:
    """The verification request's state as the cartable lists it (None: there is none to list)."""
    if not case:
        return None
    if case.get("draft") and case.get("status") in ("none", "rejected"):
        return "draft"
    status = case.get("status")
    return status if status in VERIFICATION_FOLDER else None


def verification_row(case: dict[str, Any] | None, now: datetime | None = None) -> dict[str, Any] | None:
    """The identity-verification request as a cartable row (None when the citizen has neither
    sent nor kept one)."""
    state = verification_state(case)
    if case is None or state is None:
        return None
    steps = case.get("steps") or []
    sent = [s for s in steps if s.get("type") == "VerificationSubmitted"]
    first = sent[0]["at"] if sent else (case.get("draft") or {}).get("saved_at")
    decided = steps[-1]["at"] if state in ("approved", "rejected") and steps else None
    province = (case.get("last_submission") or case.get("draft") or {}).get("province")
    holders = {
        "draft": "شما (متقاضی)",
        "rejected": "شما (متقاضی)",
        "submitted": f"مسئول میز خدمت استان {PROVINCES.get(province or '', '')}".strip(),
        "approved": "— (پایان یافته)",
    }
    label, colour = VERIFICATION_STATE[state]
    return {
        "state": state,
        "folder": VERIFICATION_FOLDER[state],
        "label": label,
        "colour": colour,
        "round": case.get("round") or 0,
        "submitted_at": first,
        "updated_at": steps[-1]["at"] if steps else first,
        "waited": waited(sent[-1]["at"], decided, now) if sent and state != "draft" else "—",
        "holder": holders[state],
        "steps": steps,
        "reason": case.get("reason"),
    }


async def columns(request: Request, account_id: str, view: dict[str, Any]) -> dict[str, Any]:
    """What the cartable page adds to the requests' folder: each row's columns, the verification
    request when it belongs in this folder, and the folders' counts with it."""
    try:
        profile = await call(request, "identity", "profile", account_id)
    except (ApiError, ServiceUnavailable):
        profile = {}  # the requests listed still show; identity's row comes back with identity
    case = verification_row(profile.get("verification"))
    counts = dict(view["counts"])
    if case is not None:
        counts[case["folder"]] = counts.get(case["folder"], 0) + 1
    return {
        "rows": request_rows(view["items"]),
        "verification": case if case is not None and case["folder"] == view["folder"] else None,
        "counts": counts,
    }
