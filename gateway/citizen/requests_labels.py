"""Persian words the citizen's request pages show for statuses, history steps and SMS."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from contracts.requests import PREVIOUS_RESULTS, WIZARD_STEPS

__all__ = ["HISTORY", "PREVIOUS_RESULTS", "STATUS", "WIZARD_STEPS", "sms_status", "timeline"]

STATUS: dict[str, tuple[str, str]] = {
    "submitted": ("ثبت شده؛ در انتظار ثبت در دبیرخانه", "blue"),
    "registered": ("در حال بررسی", "blue"),
    "replied": ("پاسخ موقت داده شده؛ در حال بررسی", "blue"),
    "done": ("پاسخ نهایی (جوابیه) صادر شد", "green"),
    "returned": ("بازگشت برای اصلاح؛ در انتظار اقدام شما", "red"),
}
"""Status → (label, colour): blue while in progress, green with the final reply (seed 002)."""

HISTORY: dict[str, str] = {
    "submitted": "ثبت درخواست و دریافت کد رهگیری",
    "registered": "ثبت در دبیرخانه",
    "returned": "بازگشت برای اصلاح",
    "resubmitted": "ارسال دوباره پس از اصلاح",
    "interim_reply": "پاسخ موقت",
    "final_reply": "پاسخ نهایی (جوابیه)",
}

PENDING_FOR = timedelta(minutes=5)

FOLDERS = {"awaiting": "در انتظار اقدام", "progress": "در حال گردش", "done": "تمام شده (آرشیو)"}


def timeline(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The workflow's four steps, each done (with its date) or still ahead."""
    first: dict[str, Any] = {}
    for item in history:
        first.setdefault(item["step"], item["at"])
    reply = first.get("interim_reply") or first.get("final_reply")
    steps = [
        ("ثبت درخواست", first.get("submitted")),
        ("ثبت در دبیرخانه", first.get("registered")),
        ("بررسی و پاسخ", reply),
        ("پاسخ نهایی", first.get("final_reply")),
    ]
    return [{"label": label, "at": at, "done": at is not None} for label, at in steps]


def sms_status(messages: list[dict[str, Any]], submitted_at: str) -> tuple[str, str]:
    """What the receipt says about the confirmation SMS: (sentence, colour). A message not yet
    planned a few minutes after submission is reported as not sent (seed 003's wording)."""
    confirmation = [m for m in messages if m.get("template") == "request_received"]
    if any(m.get("status") in ("sent", "delivered") for m in confirmation):
        return "پیامک تأیید ثبت درخواست برای شهروند ارسال شد", "green"
    fresh = datetime.now(UTC) - datetime.fromisoformat(submitted_at) < PENDING_FOR
    pending = any(not m.get("failed", False) for m in confirmation)
    if pending or (fresh and not confirmation):
        return "پیامک تأیید در حال ارسال است؛ برای دیدن نتیجه صفحه را تازه کنید", "blue"
    return "پیامکی برای شهروند ارسال نشد", "red"
