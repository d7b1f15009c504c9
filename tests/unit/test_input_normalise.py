"""The one normaliser at the boundary: codes with the digits of every script, free text kept as
typed but without controls or bidi overrides, references that exist, and parked events counted."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from contracts import normalise
from contracts.errors import DomainError
from contracts.events import new_event
from contracts.fields import FULL_NAME_MAX
from contracts.identity_rpc import UpdateProfile
from contracts.persian import is_national_code, normalize_mobile
from contracts.requests import Applicant, RequestSubmitted, SaveDraft
from contracts.rpc import SubmitRequest
from contracts.secretariat_rpc import CartableQuery, Refer, Staff
from contracts.tracking import new_tracking_code, normalize_tracking_code
from infra.db import Database
from infra.eventstore.sql import SqlEventStore
from infra.nameko_glue import health_rpc, invalid_payload, replies
from infra.ops import stats
from infra.projections import Context, Projection, ProjectionRunner, parked_counts
from services.requests import commands
from services.requests.projections import CitizenRequests

CODE = "0084575948"
SCRIPTS = {
    "persian": "۰۱۲۳۴۵۶۷۸۹",
    "arabic-indic": "٠١٢٣٤٥٦٧٨٩",
    "fullwidth": "０１２３４５６７８９",
    "devanagari": "०१२३४५६७८९",
    "bengali": "০১২৩৪৫৬৭৮৯",
    "mathematical bold": "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗",
    "mathematical monospace": "𝟶𝟷𝟸𝟹𝟺𝟻𝟼𝟽𝟾𝟿",
}
BASE = {
    "national_code": CODE,
    "full_name": "مریم کاظمی",
    "mobile": "09123456789",
    "province": "tehran",
    "subject": "درخواست مجوز",
    "text": "متن",
}
CLERK = Staff(account_id="clerk-1", roles=("clerk",), province="tehran")


def _in(script: str, digits: str) -> str:
    return "".join(SCRIPTS[script][int(d)] if d.isdigit() else d for d in digits)


@pytest.mark.parametrize("script", sorted(SCRIPTS))
def test_codes_typed_with_the_digits_of_any_script_are_one_code(script: str) -> None:
    parsed = SubmitRequest.model_validate(
        {**BASE, "national_code": _in(script, CODE), "mobile": _in(script, "09123456789")}
    )
    assert (parsed.national_code, parsed.mobile) == (CODE, "09123456789")
    assert normalize_mobile("+98 " + _in(script, "912 345 6789")) == "09123456789"
    tracking = new_tracking_code()
    assert normalize_tracking_code(_in(script, tracking[:6]) + "-" + tracking[6:]) == tracking


def test_a_code_is_checked_in_ascii_digits_only_after_folding() -> None:
    fullwidth = _in("fullwidth", CODE)
    assert not is_national_code(fullwidth)  # was valid as typed, and so a second account
    assert is_national_code(normalise.code(fullwidth))
    assert normalise.code("\u200e۰۰۸۴\u200c۵۷۵۹۴۸\ufeff ") == CODE  # marks pasted with it


def test_free_text_is_kept_as_typed_with_persian_letters_and_unix_newlines() -> None:
    parsed = SubmitRequest.model_validate(
        {**BASE, "full_name": "  علي كاظمي ", "subject": "پروانه ۱۴۰۳", "text": "خط یک\r\nخط\tدو\u200cها"}
    )
    assert parsed.full_name == "علی کاظمی"
    assert parsed.subject == "پروانه ۱۴۰۳"  # Persian digits stay Persian in text
    assert parsed.text == "خط یک\nخط\tدو\u200cها"
    assert normalise.text("\u200fسلام\u200e") == "سلام"  # marks at the ends trimmed, kept inside


@pytest.mark.parametrize(
    "bad",
    ["\x00", "\x07", "\x1b[31m", "\x7f", "\x85", "\r", *normalise.BIDI_CONTROLS],
)
def test_a_control_character_or_bidi_override_is_refused_naming_the_field_in_persian(bad: str) -> None:
    with pytest.raises(ValidationError) as refused:
        SubmitRequest.model_validate({**BASE, "subject": f"درخواست{bad}مجوز"})
    error = invalid_payload(refused.value)
    assert error.code == "invalid_input" and error.status == 422
    assert error.detail is not None and error.detail.startswith("subject: «موضوع»")
    assert f"U+{ord(bad[0]):04X}" in error.detail


@pytest.mark.parametrize(
    "blank", ["\u200c\u200c", "\u200b\u200b\u200b", "\ufeff  ", "\u3164\u3164", "\u2800\u2800"]
)
def test_text_of_invisible_characters_only_is_empty(blank: str) -> None:
    assert normalise.is_blank(blank) and normalise.text(blank) == ""
    with pytest.raises(ValidationError, match="subject"):
        SubmitRequest.model_validate({**BASE, "subject": blank})
    assert UpdateProfile.model_validate({"account_id": "a", "address": blank}).address == ""


def test_fields_without_a_text_type_refuse_what_no_read_model_can_store() -> None:
    staff = {"account_id": "clerk-1", "name": "سارا\x00", "roles": ["clerk"], "province": "tehran"}
    with pytest.raises(ValidationError) as refused:
        Refer.model_validate({"request_id": "r", "staff": staff, "unit": "permits", "instruction": "x"})
    assert (invalid_payload(refused.value).detail or "").startswith("staff.name: «نام»")
    draft = {"draft_id": "a" * 32, "account_id": "acc", "step": 1}
    with pytest.raises(ValidationError, match=r"fields\.sub"):
        SaveDraft.model_validate({**draft, "fields": {"sub\x00ject": "x"}})
    saved = SaveDraft.model_validate({**draft, "fields": {"national_code": "۰۰۸۴۵۷۵۹۴۸", "text": "بند ۲"}})
    assert saved.fields == {"national_code": CODE, "text": "بند ۲"}


def test_a_search_box_is_normalised_and_refused_like_any_field() -> None:
    query = CartableQuery(staff=CLERK, tracking_code="۱۲۳۴-۵۶", registration_number="۱۴۰۵/tehran/۰۰۰۱")
    assert (query.tracking_code, query.registration_number) == ("1234-56", "1405/tehran/0001")
    with pytest.raises(ValidationError):
        CartableQuery.model_validate({"staff": CLERK.model_dump(), "national_code": "00845\x00"})


def test_an_rpc_argument_holding_nul_is_refused_before_the_method_runs() -> None:
    ran: list[str] = []

    @replies
    def service_card(service_id: str) -> dict[str, Any]:
        ran.append(service_id)
        return {}

    answer = service_card("1701123000\x00")
    assert answer["ok"] is False and answer["error"]["code"] == "invalid_input"
    assert ran == [] and service_card("17011230002") == {"ok": True, "result": {}}


def test_joined_names_longer_than_any_read_model_keeps_are_refused() -> None:
    first = "ن" * 100
    with pytest.raises(ValidationError, match="name_too_long"):
        UpdateProfile.model_validate({"account_id": "a", "first_name": first, "last_name": "ک" * 100})
    fits = UpdateProfile.model_validate({"account_id": "a", "first_name": first, "last_name": "ک" * 99})
    assert len(f"{fits.first_name} {fits.last_name}") == FULL_NAME_MAX


def test_a_request_for_a_province_with_no_secretariat_is_refused_and_nothing_is_recorded(
    store: SqlEventStore,
) -> None:
    with pytest.raises(DomainError) as refused:
        commands.submit(store, SubmitRequest.model_validate({**BASE, "province": "atlantis"}))
    assert (refused.value.code, refused.value.status) == ("invalid_province", 422)
    assert store.last_position() == 0


class _Breaks(Projection):
    """A projection double named like the requests' own, failing on every submission."""

    name = CitizenRequests.name
    handles = CitizenRequests.handles
    metadata = sa.MetaData()

    def apply(self, conn: sa.Connection, event: Any, context: Context) -> None:
        raise RuntimeError("cannot apply this event")


def _park_one(var: Path) -> None:
    """One submission, parked by the double in the requests service's read-model database."""
    store = SqlEventStore(f"sqlite:///{var / 'events.db'}")
    event = RequestSubmitted(
        request_id="r" * 32,
        tracking_code=new_tracking_code(),
        applicant=Applicant(national_code=CODE, full_name="مریم", mobile="09123456789"),
        province="tehran",
        subject="درخواست",
        text="متن",
        submitted_at="2026-01-01T00:00:00+00:00",
    )
    store.append("request-" + "r" * 32, [new_event(event)])
    db = Database(f"sqlite:///{var / 'requests.db'}")
    runner = ProjectionRunner(store, db, [_Breaks()], attempts=1, backoff=0)
    runner.setup()
    runner.run_once()
    store.close()
    db.dispose()


def test_each_service_answers_its_parked_events_and_stats_lists_them(tmp_path: Path) -> None:
    _park_one(tmp_path)
    db = Database(f"sqlite:///{tmp_path / 'requests.db'}")
    assert parked_counts(db) == {"requests.citizen_view": 1}

    class Service:
        name = "requests"
        health = health_rpc()

        def __init__(self, db: Database) -> None:
            self.db = db

    assert Service(db).health() == {"parked": {"requests.citizen_view": 1}}
    assert parked_counts(db, "secretariat") == {}  # services may share one database
    found = stats.parked("requests", db, [CitizenRequests()])
    assert [(p.projection, p.count, p.first_type) for p in found] == [
        ("requests.citizen_view", 1, "RequestSubmitted")
    ]
    db.dispose()

    env = {
        k: v for k, v in os.environ.items() if k not in ("EVENTSTORE_URL", "DATABASE_URL", "READMODEL_URL")
    }
    env.update(PISHKHAN_VAR=str(tmp_path), EVENTSTORE_URL=f"sqlite:///{tmp_path / 'events.db'}")
    printed = subprocess.run(
        [sys.executable, "-m", "infra.cli", "stats"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    ).stdout
    assert "parked events: 1" in printed
    assert "requests.citizen_view" in printed.split("parked events:")[1], printed
