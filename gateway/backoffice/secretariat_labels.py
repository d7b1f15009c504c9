"""The Persian words of the secretariat's pages (seed 004's folders, the request's states)."""

from __future__ import annotations

from typing import Any

FOLDERS = {"awaiting": "در انتظار اقدام", "in_progress": "در حال گردش", "done": "تمام شده (آرشیو)"}

STATUSES = {
    "new": "در انتظار ثبت",
    "registered": "ثبت‌شده در دبیرخانه",
    "referred": "ارجاع‌شده",
    "recalled": "ارجاع بازپس‌گرفته‌شده",
    "returned": "بازگشت به متقاضی برای اصلاح",
    "resubmitted": "اصلاح‌شده توسط متقاضی",
    "replied": "پاسخ موقت داده شده",
    "done": "پاسخ نهایی داده شده",
    "closed": "بسته‌شده",
    "archived": "بایگانی‌شده",
    "reopened": "بازگشایی‌شده",
}

REQUEST_STATUS = {"undetermined": "تعیین نشده", "yes": "بله", "no": "خیر"}

NOTICES = {
    "register": "درخواست در دبیرخانه ثبت شد و شماره ثبت گرفت.",
    "refer": "درخواست ارجاع شد.",
    "recall": "ارجاع بازپس گرفته شد؛ درخواست در کارتابل دبیرخانه است.",
    "take": "درخواست را برداشتید؛ تا آزاد نکنید در دست شماست.",
    "release": "درخواست آزاد شد.",
    "note": "یادداشت داخلی ثبت شد.",
    "return": "درخواست برای اصلاح به متقاضی بازگشت؛ زمان رسیدگی تا ارسال مجدد متوقف است.",
    "status": "وضعیت درخواست ثبت شد.",
    "reply": "پاسخ ثبت شد و برای متقاضی ارسال می‌شود.",
    "close": "درخواست بسته شد.",
    "archive": "درخواست بایگانی شد.",
    "reopen": "درخواست بازگشایی شد.",
}

PARTNER_CHANNEL = "ثبت‌شده از طریق سامانهٔ همکار"
NO_NATIONAL_CODE = {
    "partner": "سامانهٔ همکار کد ملی متقاضی را نفرستاده است (در Open311 اختیاری است).",
    "": "کد ملی متقاضی ثبت نشده است.",
}
"""Why a request shows «—» for its national code: a partner system filed it without one."""


def with_channel(case: dict[str, Any]) -> dict[str, Any]:
    """`case` (a cartable row or a case file's row) with `channel`, «ثبت‌شده از طریق سامانهٔ
    همکار: <name>» for a request a partner system filed («…سامانهٔ همکار» alone while the desk
    does not know its name) and "" for the citizen's own, and `national_code_note`, why the
    national code is missing ("" when there is one)."""
    partner = case.get("applicant_kind") == "partner"
    name = case.get("partner_name")
    channel = (f"{PARTNER_CHANNEL}: {name}" if name else PARTNER_CHANNEL) if partner else ""
    note = "" if case.get("national_code") else NO_NATIONAL_CODE["partner" if partner else ""]
    return case | {"channel": channel, "national_code_note": note}
