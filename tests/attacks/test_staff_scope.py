"""Staff act only inside their role and unit: a clerk of one province on another's requests, a
representative on a case not referred to their unit, a desk officer on the secretariat, anyone
but an administrator on staff, catalogue and template administration."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from deploy.run import Desk
from gateway.backoffice.secretariat_pages import ACTIONS
from gateway.rpc import RpcPool
from services.identity.accounts import staff_id
from tests.attacks.conftest import TOKEN, append_request, client, staff_principal
from tests.integration.test_identity_flow import ADMIN as FIRST_ADMIN
from tests.integration.test_walking_skeleton import eventually

pytestmark = [pytest.mark.integration, pytest.mark.attacks]

TEHRAN = staff_principal("clerk", province="tehran")
ISFAHAN = staff_principal("clerk", province="isfahan")
PERMITS = staff_principal("representative", unit="permits")
LICENCES = staff_principal("representative", unit="licences")
DESK_OFFICER = staff_principal("desk_officer")
ADMIN = staff_principal("admin")
FILLED = {
    "unit": "licences",
    "representative": "rep-x",
    "instruction": "ارجاع غیرمجاز",
    "reason": "دلیل غیرمجاز",
    "text": "یادداشت غیرمجاز",
    "value": "closed",
    "kind": "final",
    "body": "پاسخ غیرمجاز",
}


def history_of(office: httpx.Client, request_id: str) -> list[Any]:
    file = office.get(f"/api/requests/{request_id}")
    assert file.status_code == 200, file.text[:300]
    return list(file.json()["history"])


def every_action_is_refused(outsider: httpx.Client, request_id: str, status: int = 404) -> None:
    for action in ACTIONS:
        answer = outsider.post(f"/secretariat/cases/{request_id}/{action}", data={**TOKEN, **FILLED})
        assert answer.status_code == status, (action, answer.status_code, answer.text[:200])
    paths = [f"/api/requests/{request_id}", f"/api/requests/{request_id}/messages"]
    paths += [f"/secretariat/cases/{request_id}"]
    for path in paths:
        assert outsider.get(path).status_code == status, path
    assert outsider.get(f"/notify/requests/{request_id}").status_code in (403, status)
    assert outsider.post(f"/api/requests/{request_id}/number").status_code == status
    reply = outsider.post(f"/api/requests/{request_id}/replies", json={"body": "پاسخ غیرمجاز"})
    assert reply.status_code == status


def test_a_clerk_and_representatives_act_only_on_their_own_cases(desk: Desk) -> None:
    request_id = append_request(desk, province="tehran")
    with (
        client(desk, TEHRAN) as tehran,
        client(desk, ISFAHAN) as isfahan,
        client(desk, PERMITS) as permits,
        client(desk, LICENCES) as licences,
        client(desk, DESK_OFFICER) as officer,
    ):
        eventually(lambda: tehran.get(f"/api/requests/{request_id}").status_code == 200)
        before = history_of(tehran, request_id)
        every_action_is_refused(isfahan, request_id)
        every_action_is_refused(permits, request_id)  # not referred to anyone yet
        assert request_id not in isfahan.get("/secretariat/cartable?folder=all").text
        assert request_id not in isfahan.get("/secretariat/cartable", params={"tracking_code": "1"}).text
        assert isfahan.get("/api/inbox", params={"province": "tehran"}).json().get("items", []) == []
        assert history_of(tehran, request_id) == before

        assert tehran.post(f"/api/requests/{request_id}/number").status_code == 201
        eventually(lambda: tehran.get(f"/api/requests/{request_id}").json()["case"]["registration_number"])
        form = {**TOKEN, "unit": "permits", "instruction": "بررسی شود", "command_id": uuid.uuid4().hex}
        assert tehran.post(f"/secretariat/cases/{request_id}/refer", data=form).status_code == 303
        eventually(lambda: permits.get(f"/api/requests/{request_id}").status_code == 200)
        referred = history_of(tehran, request_id)
        every_action_is_refused(licences, request_id)  # referred to another unit
        every_action_is_refused(isfahan, request_id)
        for action in ("register", "refer", "note", "reply"):
            answer = officer.post(f"/secretariat/cases/{request_id}/{action}", data={**TOKEN, **FILLED})
            assert answer.status_code == 403, action
        assert officer.get(f"/secretariat/cases/{request_id}").status_code == 403
        assert officer.get("/secretariat/cartable").status_code == 403
        assert officer.post(f"/api/requests/{request_id}/number").status_code == 403
        assert history_of(tehran, request_id) == referred


def test_only_an_administrator_administers_staff_catalogue_and_templates(desk: Desk) -> None:
    forms: list[tuple[str, dict[str, str]]] = [
        ("/identity/staff", {"national_code": "0012345679", "first_name": "نفوذی", "roles": "admin"}),
        (f"/identity/staff/{TEHRAN.account_id}/roles", {"roles": "admin"}),
        ("/catalogue/units", {"unit_id": "evil", "name": "واحد نفوذی"}),
        ("/catalogue/services", {"service_id": "10012134099", "unit_id": "evil", "name": "نفوذی"}),
        ("/catalogue/services/17011230002/retire", {"reason": "نفوذی"}),
        ("/notify/templates", {"template": "request_received", "text": "نفوذی"}),
    ]
    pages = ["/identity/staff", "/catalogue", "/catalogue/services/new", "/notify/templates"]
    for principal in (TEHRAN, PERMITS, DESK_OFFICER):
        with client(desk, principal) as office:
            for path, data in forms:
                answer = office.post(path, data={**TOKEN, **data})
                assert answer.status_code == 403, (principal.roles, path, answer.status_code)
            for path in pages:
                assert office.get(path).status_code == 403, (principal.roles, path)
            change = office.post("/api/notify/templates", json={"template": "request_received", "text": "x"})
            assert change.status_code == 403
    with client(desk, ADMIN) as admin:
        assert "نفوذی" not in admin.get("/catalogue").text
        assert "نفوذی" not in admin.get("/notify/templates").text


def test_sms_of_another_province_stay_hidden_from_a_clerk(desk: Desk) -> None:
    request_id = append_request(desk, province="tehran")
    with client(desk, ISFAHAN) as isfahan, client(desk, ADMIN) as admin:
        eventually(
            lambda: admin.get("/api/notify/messages", params={"request_id": request_id}).json()["items"]
        )
        assert isfahan.get(f"/notify/requests/{request_id}").status_code == 404
        listed = isfahan.get("/api/notify/messages", params={"request_id": request_id})
        assert listed.status_code in (403, 404)
        assert isfahan.get("/notify/messages").status_code == 403


def test_canned_reply_removal_without_its_fields_is_a_clean_refusal(desk: Desk) -> None:
    with client(desk, TEHRAN) as tehran:
        answer = tehran.post("/secretariat/canned/remove", data=TOKEN)
        assert answer.status_code == 422, answer.status_code


def test_a_referral_names_a_representative_of_that_unit_chosen_from_the_list(desk: Desk) -> None:
    """The clerk picks the follow-up representative from identity's list, not by typing an id;
    one of another unit is refused with a Persian message and nothing is recorded."""
    pool = RpcPool({"AMQP_URI": desk.env["AMQP_URI"], "rpc_exchange": "nameko-rpc"}, size=1, timeout=30)
    pool.start()
    try:
        admin = staff_id(FIRST_ADMIN["ADMIN_NATIONAL_CODE"])
        made = pool.call(
            "identity",
            "create_staff",
            {
                "admin": admin,
                "national_code": "0067890156",
                "full_name": "نرگس پیگیر",
                "mobile": "09191230000",
                "password": "Follow-Up-Rep-77",
            },
        )
        assert made["ok"], made
        rep = made["result"]["account_id"]
        granted = pool.call(
            "identity",
            "grant_role",
            {"admin": admin, "account_id": rep, "role": "representative", "unit": "permits"},
        )
        assert granted["ok"], granted
    finally:
        pool.stop()
    request_id = append_request(desk, province="tehran")
    with client(desk, TEHRAN) as tehran:
        eventually(lambda: tehran.get(f"/api/requests/{request_id}").status_code == 200)
        assert tehran.post(f"/api/requests/{request_id}/number").status_code == 201
        eventually(lambda: tehran.get(f"/api/requests/{request_id}").json()["case"]["registration_number"])
        page = eventually(lambda: rep in (got := tehran.get(f"/secretariat/cases/{request_id}")).text and got)
        assert "نرگس پیگیر" in page.text
        before = history_of(tehran, request_id)
        form = {**TOKEN, "instruction": "بررسی شود", "representative": rep}
        wrong = tehran.post(f"/secretariat/cases/{request_id}/refer", data={**form, "unit": "licences"})
        assert wrong.status_code == 422 and "از کارکنان این واحد نیست" in wrong.text
        assert history_of(tehran, request_id) == before
        right = tehran.post(
            f"/secretariat/cases/{request_id}/refer",
            data={**form, "unit": "permits", "command_id": uuid.uuid4().hex},
        )
        assert right.status_code == 303, right.text[-300:]
        referred = eventually(lambda: len(h := history_of(tehran, request_id)) > len(before) and h)
        assert "نرگس پیگیر" in json.dumps(referred, ensure_ascii=False)
