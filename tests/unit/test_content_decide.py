"""The citizens' dashboard items as given events / when a command / then events, with no store:
an announcement with its Jalali dates, a form that needs its file and a service of its own unit,
a question and answer, an edit that keeps the file, and hiding and showing again."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from contracts.content import (
    AnnouncementSaved,
    ContentHidden,
    ContentShown,
    FaqEntrySaved,
    HideContent,
    SaveContent,
    ServiceFormSaved,
    field_errors,
    iso_to_jalali,
    jalali_to_iso,
)
from contracts.requests import AttachmentRef
from services.requests.content import Hide, Save, contents
from tests.scenario import scenario

AT = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)
ITEM = "a" * 32
FILE = AttachmentRef(
    attachment_id="b" * 64, name="فرم.pdf", media_type="application/pdf", size=1200, sha256="b" * 64
)
OTHER_FILE = AttachmentRef(
    attachment_id="c" * 64, name="نو.pdf", media_type="application/pdf", size=99, sha256="c" * 64
)


def save(
    kind: str, upload: AttachmentRef | None = None, *, service_unit: str | None = None, **typed: Any
) -> Save:
    payload = SaveContent.model_validate({"admin": "admin-1", "kind": kind, **typed})
    return Save(
        payload, ITEM, upload, AT, unit_exists=typed.get("unit_id") != "nowhere", service_unit=service_unit
    )


def announcement(**changes: Any) -> AnnouncementSaved:
    values: dict[str, Any] = {
        "item_id": ITEM,
        "title": "تعطیلی پیشخوان",
        "text": "پیشخوان روز جمعه پاسخگو نیست.",
        "published_on": "2026-12-07",
        "expires_on": None,
        "file": None,
        "saved_by": "admin-1",
        "saved_at": AT.isoformat(),
    }
    return AnnouncementSaved(**(values | changes))


def test_an_announcement_is_recorded_with_its_jalali_dates_as_iso() -> None:
    scenario(contents).when(
        save(
            "announcement",
            FILE,
            title="تعطیلی پیشخوان",
            text="متن",
            date="۱۴۰۵/۰۹/۱۰",
            expires_on="1405/09/20",
        )
    ).then(announcement(text="متن", published_on="2026-12-01", expires_on="2026-12-11", file=FILE))


def test_an_announcement_without_a_date_is_dated_the_day_it_is_saved_and_keeps_that_date_when_edited() -> (
    None
):
    created = scenario(contents).when(save("announcement", title="تعطیلی پیشخوان", text="متن"))
    assert created.event().published_on == "2026-12-07"
    edited = scenario(contents).given(announcement(published_on="2026-11-01", file=FILE))
    outcome = edited.when(save("announcement", item_id=ITEM, title="عنوان تازه", text="متن"))
    assert (outcome.event().published_on, outcome.event().file) == ("2026-11-01", FILE)  # kept
    removed = edited.when(
        save("announcement", item_id=ITEM, title="عنوان تازه", text="متن", remove_file=True)
    )
    assert removed.event().file is None


def test_an_edit_that_changes_nothing_records_nothing() -> None:
    given = scenario(contents).given(announcement())
    given.when(save("announcement", title="تعطیلی پیشخوان", text="پیشخوان روز جمعه پاسخگو نیست.")).nothing()


def test_missing_text_a_bad_date_or_an_expiry_before_the_date_is_refused() -> None:
    scenario(contents).when(save("announcement", title="عنوان")).refused("content_invalid")
    scenario(contents).when(save("announcement", title="ع", text="م", date="1405/13/01")).refused(
        "content_invalid"
    )
    early = save("announcement", title="ع", text="م", date="1405/09/10", expires_on="1405/09/01")
    scenario(contents).when(early).refused("content_invalid")
    assert field_errors("announcement", {"title": "ع", "text": "م", "expires_on": "فردا"}) == {
        "expires_on": "تاریخ انقضا را به شکل ۱۴۰۵/۰۹/۱۶ وارد کنید."
    }


def test_a_form_needs_its_file_its_unit_and_a_service_of_that_unit() -> None:
    typed = {"title": "فرم درخواست نقشه", "unit_id": "dehyari", "service_id": "12345678901"}
    scenario(contents).when(save("form", FILE, service_unit="dehyari", **typed)).then(
        ServiceFormSaved(
            item_id=ITEM,
            title="فرم درخواست نقشه",
            unit_id="dehyari",
            service_id="12345678901",
            file=FILE,
            saved_by="admin-1",
            saved_at=AT.isoformat(),
        )
    )
    scenario(contents).when(save("form", None, service_unit="dehyari", **typed)).refused(
        "content_file_required"
    )
    scenario(contents).when(save("form", FILE, service_unit="other-unit", **typed)).refused(
        "content_service_mismatch"
    )
    scenario(contents).when(save("form", FILE, title="فرم", unit_id="nowhere")).refused("unknown_unit")
    scenario(contents).when(save("form", FILE, title="فرم")).refused("content_invalid")  # no unit chosen


def test_a_new_file_replaces_a_forms_file() -> None:
    form = ServiceFormSaved(
        item_id=ITEM, title="فرم", unit_id="dehyari", file=FILE, saved_by="admin-1", saved_at=AT.isoformat()
    )
    outcome = (
        scenario(contents)
        .given(form)
        .when(save("form", OTHER_FILE, item_id=ITEM, title="فرم", unit_id="dehyari"))
    )
    assert outcome.event().file == OTHER_FILE


def test_a_question_and_answer_of_a_unit() -> None:
    scenario(contents).when(save("faq", title="مدارک لازم چیست؟", text="کارت ملی", unit_id="dehyari")).then(
        FaqEntrySaved(
            item_id=ITEM,
            question="مدارک لازم چیست؟",
            answer="کارت ملی",
            unit_id="dehyari",
            saved_by="admin-1",
            saved_at=AT.isoformat(),
        )
    )
    scenario(contents).when(save("faq", title="پرسش بی پاسخ", unit_id="dehyari")).refused("content_invalid")


def test_an_item_keeps_its_kind() -> None:
    scenario(contents).given(announcement()).when(
        save("faq", title="پ", text="پ", unit_id="dehyari")
    ).refused("content_not_found")


def hide(hidden: bool = True) -> Hide:
    return Hide(HideContent(admin="admin-1", item_id=ITEM, hidden=hidden), AT)


def test_an_item_is_hidden_once_and_shown_again() -> None:
    scenario(contents).given(announcement()).when(hide()).then(
        ContentHidden(item_id=ITEM, kind="announcement", hidden_by="admin-1", at=AT.isoformat())
    )
    hidden = ContentHidden(item_id=ITEM, kind="announcement", hidden_by="admin-1", at=AT.isoformat())
    scenario(contents).given(announcement(), hidden).when(hide()).nothing()
    scenario(contents).given(announcement(), hidden).when(hide(False)).then(
        ContentShown(item_id=ITEM, kind="announcement", shown_by="admin-1", at=AT.isoformat())
    )
    scenario(contents).when(hide()).refused("content_not_found")


def test_jalali_dates_go_both_ways() -> None:
    assert jalali_to_iso("۱۴۰۵/۰۹/۱۶") == "2026-12-07"
    assert iso_to_jalali("2026-12-07") == "1405/09/16"
    assert jalali_to_iso("1405/12/31") is None  # 1405 is not a leap year
