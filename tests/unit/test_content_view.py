"""The citizens' dashboard as its read model answers it, on SQLite with the sample catalogue:
announcements newest first without the hidden and the expired ones (expiry judged on the day
asked, not when the event was applied), forms grouped by service with each card's own, and the
questions of a unit or a service (a unit's general ones go with each of its services)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from contracts.content import AnnouncementSaved, ContentHidden, FaqEntrySaved, ServiceFormSaved
from contracts.requests import AttachmentRef
from services.requests import content_view
from services.requests.catalogue_view import Catalogue
from services.requests.content_view import Contents
from services.requests.sample_catalogue import SERVICES, UNITS

FILE = AttachmentRef(
    attachment_id="b" * 64, name="نقشه.pdf", media_type="application/pdf", size=2048, sha256="b" * 64
)
RURAL, EVALUATION = UNITS[0].unit_id, UNITS[1].unit_id
FOUNDING, GRADING = SERVICES[0].service_id, SERVICES[1].service_id


def item(n: int) -> str:
    return f"{n:032x}"


def announcement(n: int, published_on: str, expires_on: str | None = None) -> AnnouncementSaved:
    return AnnouncementSaved(
        item_id=item(n),
        title=f"اطلاعیه {n}",
        text="متن",
        published_on=published_on,
        expires_on=expires_on,
        saved_by="admin",
        saved_at=f"{published_on}T08:00:00+00:00",
    )


def faq(n: int, unit_id: str, service_id: str = "") -> FaqEntrySaved:
    return FaqEntrySaved(
        item_id=item(n),
        question=f"پرسش {n}",
        answer="پاسخ",
        unit_id=unit_id,
        service_id=service_id,
        saved_by="admin",
        saved_at="2026-12-01T08:00:00+00:00",
    )


@pytest.fixture
def db() -> Iterator[sa.Engine]:
    engine = sa.create_engine("sqlite://")
    for projection in (Catalogue(), Contents()):
        projection.metadata.create_all(engine)
    events: list[Any] = [
        *UNITS,
        *SERVICES,
        announcement(1, "2026-11-01"),
        announcement(2, "2026-12-01", expires_on="2026-12-05"),
        announcement(3, "2026-12-03"),
        announcement(4, "2026-12-04"),
        ContentHidden(
            item_id=item(4), kind="announcement", hidden_by="admin", at="2026-12-04T09:00:00+00:00"
        ),
        ServiceFormSaved(
            item_id=item(5),
            title="فرم درخواست نقشه",
            unit_id=RURAL,
            service_id=GRADING,
            file=FILE,
            saved_by="admin",
            saved_at="2026-12-01T08:00:00+00:00",
        ),
        faq(6, RURAL),
        faq(7, RURAL, GRADING),
        faq(8, EVALUATION),
    ]
    with engine.begin() as conn:
        for event in events:
            for projection in (Catalogue(), Contents()):
                if isinstance(event, projection.handles):
                    projection.apply(conn, event, None)  # type: ignore[arg-type]  # neither reads its context
    yield engine
    engine.dispose()


def titles(found: list[dict[str, Any]], key: str = "title") -> list[str]:
    return [f[key] for f in found]


def test_announcements_newest_first_without_the_hidden_and_the_expired(db: sa.Engine) -> None:
    on_expiry_day = content_view.dashboard(db, "2026-12-05")
    assert titles(on_expiry_day["announcements"]) == ["اطلاعیه 3", "اطلاعیه 2", "اطلاعیه 1"]
    after = content_view.dashboard(db, "2026-12-06")
    assert titles(after["announcements"]) == ["اطلاعیه 3", "اطلاعیه 1"]
    every = content_view.items(db, "2026-12-06")  # the administrator still lists them
    assert {(i["title"], i["hidden"], i["expired"]) for i in every if i["kind"] == "announcement"} >= {
        ("اطلاعیه 2", False, True),
        ("اطلاعیه 4", True, False),
    }


def test_forms_are_grouped_by_service_with_each_cards_own(db: sa.Engine) -> None:
    groups = {g["service_id"]: g for g in content_view.dashboard(db, "2026-12-06")["form_groups"]}
    assert titles(groups[FOUNDING]["forms"]) == ["فرم درخواست تأسیس دهیاری"]
    assert groups[FOUNDING]["forms"][0]["url"] == "/forms/dehyari-tasis"
    (uploaded,) = groups[GRADING]["forms"]
    assert (uploaded["title"], uploaded["url"]) == ("فرم درخواست نقشه", f"/dashboard/files/{item(5)}")
    assert groups[GRADING]["unit_name"] == UNITS[0].name


def test_questions_of_a_unit_or_a_service(db: sa.Engine) -> None:
    ours = {"پرسش 6", "پرسش 7", "پرسش 8"}
    everything = titles(content_view.dashboard(db, "2026-12-06")["faq"], "question")
    assert ours <= set(everything) and "آیا مراجعه حضوری لازم است؟" in everything  # a card's own
    of_unit = set(titles(content_view.dashboard(db, "2026-12-06", unit_id=EVALUATION)["faq"], "question"))
    assert of_unit & ours == {"پرسش 8"}
    of_grading = set(titles(content_view.dashboard(db, "2026-12-06", service_id=GRADING)["faq"], "question"))
    assert of_grading & ours == {"پرسش 6", "پرسش 7"}  # the unit's general question goes with it
    assert "آیا مراجعه حضوری لازم است؟" not in of_grading  # another service's
