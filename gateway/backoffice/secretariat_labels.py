"""The Persian words of the secretariat's pages (seed 004's folders, the request's states)."""

from __future__ import annotations

FOLDERS = {"awaiting": "در انتظار اقدام", "in_progress": "در حال گردش", "done": "تمام شده (آرشیو)"}

STATUSES = {
    "new": "در انتظار ثبت",
    "registered": "ثبت‌شده در دبیرخانه",
    "referred": "ارجاع‌شده",
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
