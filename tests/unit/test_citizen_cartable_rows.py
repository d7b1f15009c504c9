"""The citizen cartable's seed 004 columns: how long a request has waited, whose cartable holds it,
its workflow, and the identity-verification request in the folder its state belongs in."""

from __future__ import annotations

from datetime import UTC, datetime

from gateway.citizen.cartable_rows import holder, verification_row, waited, workflow

NOW = datetime(2026, 3, 4, 10, 30, tzinfo=UTC)
SENT = "2026-03-01T08:00:00+00:00"


def test_waiting_time_runs_until_the_final_reply_or_now_in_persian() -> None:
    assert waited(SENT, None, NOW) == "۳ روز و ۲ ساعت"
    assert waited(SENT, "2026-03-01T08:40:00+00:00", NOW) == "۴۰ دقیقه"
    assert waited(SENT, "2026-03-02T08:00:00+00:00", NOW) == "۱ روز"
    assert waited(None, None, NOW) == "—"


def test_the_holder_is_the_province_s_secretariat_the_citizen_or_nobody() -> None:
    assert holder({"status": "registered", "province": "tehran"}) == "دبیرخانه استان تهران"
    assert holder({"status": "returned", "province": "tehran"}) == "شما (متقاضی)"
    assert holder({"status": "done", "province": "tehran"}).startswith("—")


def test_the_workflow_marks_what_is_done() -> None:
    steps = workflow({"status": "registered", "registration_number": "۱۴۰۵/۱۱/۷"})
    assert [s["done"] for s in steps] == [True, True, False, False]
    assert all(s["done"] for s in workflow({"status": "done", "registration_number": "x"}))


def _case(status: str, draft: bool = False) -> dict[str, object]:
    steps = [{"type": "VerificationSubmitted", "at": SENT, "round": 1}] if status != "none" else []
    if status in ("approved", "rejected"):
        steps.append({"type": f"Verification{status.title()}", "at": "2026-03-02T08:00:00+00:00"})
    return {
        "status": status,
        "round": 1 if steps else 0,
        "reason": "خوانا نیست" if status == "rejected" else None,
        "steps": steps,
        "last_submission": {"province": "tehran"} if steps else None,
        "draft": {"saved_at": SENT, "province": "fars", "scans": []} if draft else None,
    }


def test_the_verification_request_sits_in_the_folder_of_its_state() -> None:
    assert verification_row(_case("none"), NOW) is None  # neither sent nor kept: nothing to list
    rows = {
        name: verification_row(case, NOW)
        for name, case in {
            "draft": _case("none", draft=True),
            "rejected": _case("rejected"),
            "redrafted": _case("rejected", draft=True),
            "submitted": _case("submitted"),
            "approved": _case("approved"),
        }.items()
    }
    folders = {name: row["folder"] for name, row in rows.items() if row}
    assert folders == {
        "draft": "awaiting",
        "rejected": "awaiting",
        "redrafted": "awaiting",
        "submitted": "progress",
        "approved": "done",
    }
    submitted = rows["submitted"]
    assert submitted is not None
    assert submitted["holder"] == "مسئول میز خدمت استان تهران"
    assert submitted["waited"] == "۳ روز و ۲ ساعت"
    draft = rows["draft"]
    assert draft is not None and (draft["holder"], draft["waited"]) == ("شما (متقاضی)", "—")
    approved = rows["approved"]
    assert approved is not None and approved["waited"] == "۱ روز"
