"""Through the back-office gateway of a running desk: a request a partner system filed through
Open311 (no national code) tells the clerk whose system it came from in the cartable and on the
case page, whose «کد ملی» reads «—» with why; search by national code still finds the citizen's
own request, which reads as before."""

from __future__ import annotations

import html
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from contracts.events import new_event
from contracts.partners import PartnerAdded, partner_stream
from contracts.requests import Applicant
from deploy.run import Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from tests.desk import running_desk, signed_in_client, store_url_of
from tests.steps import eventually
from tests.unit.test_secretariat_partner_channel import submission

pytestmark = pytest.mark.integration

CLERK = Principal(
    account_id="clerk-partner", kind="staff", display_name="سارا دبیری", roles=("clerk",), province="tehran"
)
PARTNER = "شهرداری منطقه ۶ تهران"
CHANNEL = f"ثبت‌شده از طریق سامانهٔ همکار: {PARTNER}"
CODE = "0084575948"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    with running_desk(tmp_path_factory.mktemp("partner-channel"), "postgresql") as running:
        yield running


def _append(desk: Desk, stream: str, event: Any) -> None:
    store = open_store(store_url_of(desk))
    try:
        store.append(stream, [new_event(event, actor="test")])
    finally:
        store.close()


def _submit(desk: Desk, applicant: Applicant) -> str:
    event = submission(applicant)
    _append(desk, f"request-{event.request_id}", event)
    return event.request_id


def _text(page: str) -> str:
    """The page's text without its tags, spaces folded."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))


def test_the_clerk_sees_the_partners_channel_and_a_dash_for_the_missing_national_code(desk: Desk) -> None:
    partner_id = uuid.uuid4().hex
    added = PartnerAdded(
        partner_id=partner_id, name=PARTNER, key_hash="b" * 64, key_prefix="pk_test", added_by="admin-1"
    )
    _append(desk, partner_stream(partner_id), added)
    by_partner = _submit(
        desk,
        Applicant(kind="partner", national_code="", full_name="علی رضایی", mobile="", partner_id=partner_id),
    )
    by_citizen = _submit(desk, Applicant(national_code=CODE, full_name="زهرا احمدی", mobile="09121234567"))
    with signed_in_client(desk, CLERK) as clerk:

        def listed() -> str | None:
            page = clerk.get("/secretariat/cartable")
            assert page.status_code == 200, page.text[:300]
            return page.text if by_partner in page.text and by_citizen in page.text else None

        cartable = eventually(listed)
        rows = {
            m.group(1): m.group(0)
            for m in re.finditer(r'<tr data-request-id="(\w+)".*?</tr>', cartable, re.S)
        }
        assert CHANNEL in _text(rows[by_partner])
        assert "سامانهٔ همکار" not in _text(rows[by_citizen])

        case = clerk.get(f"/secretariat/cases/{by_partner}")
        assert case.status_code == 200
        text = _text(case.text)
        assert CHANNEL in text
        assert "کد ملی — سامانهٔ همکار کد ملی متقاضی را نفرستاده است" in text
        step = re.search(r'<tr[^>]*data-action="submitted">.*?</tr>', case.text, re.S)  # «گردش کار»
        assert step is not None and f"سامانهٔ همکار: {PARTNER}" in _text(step.group(0))
        own = _text(clerk.get(f"/secretariat/cases/{by_citizen}").text)
        assert "سامانهٔ همکار" not in own and "کد ملی ۰۰۸۴۵۷۵۹۴۸" in own

        found = clerk.get("/secretariat/cartable", params={"national_code": "۰۰۸۴۵۷۵۹۴۸"})
        assert found.status_code == 200 and by_citizen in found.text and by_partner not in found.text
        inbox = clerk.get("/api/inbox", params={"folder": "all"}).json()["items"]
        filed = {row["request_id"]: row for row in inbox}
        assert (filed[by_partner]["partner_id"], filed[by_partner]["partner_name"]) == (partner_id, PARTNER)
        assert filed[by_citizen]["partner_id"] is None and filed[by_citizen]["national_code"] == CODE
