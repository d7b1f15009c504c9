"""Errors a user can cause: a stable code for the API and a Persian message for the page."""

from __future__ import annotations

from typing import Any

MESSAGES: dict[str, tuple[int, str]] = {
    "invalid_input": (422, "اطلاعات وارد شده معتبر نیست."),
    "invalid_national_code": (422, "کد ملی وارد شده معتبر نیست."),
    "invalid_mobile": (422, "شماره تلفن همراه معتبر نیست؛ مانند ۰۹۱۲۱۲۳۴۵۶۷ وارد کنید."),
    "invalid_tracking_code": (422, "کد رهگیری معتبر نیست؛ لطفاً آن را دوباره بررسی کنید."),
    "invalid_json": (400, "بدنه درخواست یک شیء JSON معتبر نیست (یا بیش از ۳۲ لایه تودرتو دارد)."),
    "client_disconnected": (400, "ارتباط پیش از رسیدن کامل درخواست قطع شد؛ لطفاً دوباره بفرستید."),
    "idempotency_key_reused": (
        422,
        "این کلید تکرار (Idempotency-Key) پیش‌تر برای درخواست دیگری به کار رفته است؛"
        " برای درخواست تازه کلید تازه بفرستید.",
    ),
    "request_not_found": (404, "درخواستی با این مشخصات یافت نشد."),
    "already_numbered": (409, "این درخواست پیش‌تر در دبیرخانه شماره ثبت گرفته است."),
    "not_numbered": (409, "پیش از ثبت پاسخ، درخواست باید در دبیرخانه شماره ثبت بگیرد."),
    "already_final": (409, "برای این درخواست پیش‌تر پاسخ نهایی ثبت شده است."),
    "conflict": (409, "هم‌زمان کاربر دیگری این درخواست را تغییر داد؛ صفحه را تازه کنید و دوباره بکوشید."),
    "page_not_found": (404, "صفحه مورد نظر یافت نشد."),
    "not_signed_in": (401, "لطفاً ابتدا وارد سامانه شوید."),
    "forbidden": (403, "شما اجازه انجام این کار را ندارید."),
    "csrf_failed": (403, "اعتبار فرم به پایان رسیده است؛ صفحه را تازه کنید و دوباره بفرستید."),
    "too_many_requests": (429, "تعداد تلاش‌ها بیش از حد مجاز است؛ لطفاً کمی بعد دوباره تلاش کنید."),
    "service_unavailable": (503, "سامانه موقتاً در دسترس نیست؛ لطفاً چند دقیقه دیگر دوباره تلاش کنید."),
    "internal_error": (500, "خطای داخلی رخ داد؛ اطلاعات شما از بین نرفته است. لطفاً دوباره تلاش کنید."),
}


def register_messages(messages: dict[str, tuple[int, str]]) -> None:
    """Add an area's error codes (each area's contracts module calls this once on import)."""
    clashes = sorted(code for code in messages if code in MESSAGES and MESSAGES[code] != messages[code])
    if clashes:
        raise ValueError(f"error codes defined twice: {clashes}")
    MESSAGES.update(messages)


class DomainError(Exception):
    """A refusal the user can understand; `code` is a key of `MESSAGES`."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        if code not in MESSAGES:
            raise ValueError(f"unknown error code {code!r}")
        self.code = code
        self.detail = detail
        super().__init__(f"{code}: {detail or MESSAGES[code][1]}")

    @property
    def status(self) -> int:
        """The HTTP status a gateway answers with."""
        return MESSAGES[self.code][0]

    @property
    def message(self) -> str:
        """The Persian message shown to the user."""
        return MESSAGES[self.code][1]

    def to_reply(self) -> dict[str, Any]:
        """The RPC reply that carries this error (see `contracts.rpc`)."""
        return {"ok": False, "error": {"code": self.code, "message": self.message, "detail": self.detail}}
