"""Jinja2 templates with Persian filters: digits, Jalali dates."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jdatetime
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.templating import Jinja2Templates

from contracts.persian import persian_digits
from gateway.web.charts import bar_chart_of, line_chart
from gateway.web.csrf import csrf_token
from gateway.web.formats import file_size, ltr, persian_text
from infra.settings import CommonSettings

TEMPLATES = Path(__file__).parent / "templates"
TEHRAN = timezone(timedelta(hours=3, minutes=30))


def _email_activation_required() -> bool:
    """Read on every page: the setting may change while tests run the gateway in process."""
    return CommonSettings.load().email_activation_required()


def jalali(value: str | datetime | None, with_time: bool = True) -> str:
    """An ISO timestamp (or datetime) as a Jalali date in Tehran time with Persian digits."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    local = jdatetime.datetime.fromgregorian(datetime=moment.astimezone(TEHRAN))
    text = local.strftime("%Y/%m/%d %H:%M" if with_time else "%Y/%m/%d")
    return persian_digits(text)


def when(value: str | datetime | None, with_time: bool = True) -> Markup:
    """`jalali` inside a Persian sentence, isolated so a Latin name or a number beside it cannot
    pull it apart: `<bdi dir="rtl" class="code">۱۴۰۵/۰۹/۱۶ ۱۲:۳۰</bdi>`. Right to left inside, so
    the date is read first and the time after it, as Persian writes them (each keeps its digits
    in order: digits and their separators always run left to right); on one line."""
    if not value:
        return Markup("")
    return Markup('<bdi dir="rtl" class="code">{}</bdi>').format(jalali(value, with_time))


def fa(value: Any) -> str:
    """Any value with Persian digits."""
    return persian_digits("" if value is None else str(value))


def directories(*extra: Path) -> list[Path]:
    """The shared templates folder plus a gateway's own."""
    return [*extra, TEMPLATES]


def make_templates(*extra: Path) -> Jinja2Templates:
    """A template set for a gateway: its own folder first, then the shared one."""
    templates = Jinja2Templates(directory=directories(*extra))
    templates.env.filters["fa"] = fa
    templates.env.filters["jalali"] = jalali
    templates.env.filters["fa_text"] = persian_text
    templates.env.filters["filesize"] = file_size
    templates.env.filters["ltr"] = ltr
    templates.env.filters["when"] = when
    templates.env.globals["bar_chart_of"] = bar_chart_of
    templates.env.globals["line_chart"] = line_chart
    templates.env.globals["csrf_token"] = csrf_token
    templates.env.globals["email_activation_required"] = _email_activation_required
    return templates


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render `name` with the gateway's template set and the signed-in user."""
    from gateway.web.auth import current_user

    templates: Jinja2Templates = request.app.state.templates
    values = {"user": current_user(request), **(context or {})}
    return templates.TemplateResponse(request, name, values, status_code=status_code)
