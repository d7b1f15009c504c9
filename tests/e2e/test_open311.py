"""Open311 GeoReport v2 on the citizen gateway, driven by a client in its own process
(`tests/e2e/open311_client.py`, written from the spec: the `open311` package on PyPI does not
import on Python 3) against a whole running desk.

Partners are recorded as an administrator's `pishkhan partners add` records them (a
`PartnerAdded` with the key's hash, in the desk's event store); identity's read model and its
`partner_authenticate` answer the gateway.
"""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from contracts.envelope import StreamState
from contracts.events import Event, new_event
from contracts.partners import PartnerAdded, PartnerRevoked, partner_stream
from contracts.secretariat import CaseReferred, ReferralRecalled
from deploy.run import Desk
from gateway.web.auth import Principal
from infra.eventstore import open_store
from infra.partner_keys import api_key_hash, new_api_key
from services.requests.sample_catalogue import EVALUATION, RURAL, SERVICES
from tests.desk import signed_in_client, store_url_of
from tests.steps import eventually

WIZARD = next(s for s in SERVICES if s.form == "wizard" and s.unit_id == RURAL)
LETTER = next(s for s in SERVICES if s.form == "letter")


def client(desk: Desk, *args: str, fmt: str = "json", key: str = "") -> dict[str, Any]:
    """Run the client as its own process; its one JSON line, checked against the spec."""
    base = f"http://127.0.0.1:{desk.ports['citizen']}/open311/v2"
    command = [sys.executable, "-m", "tests.e2e.open311_client", "--base", base, "--format", fmt]
    if key:
        command += ["--api-key", key]
    done = subprocess.run([*command, *args], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode in (0, 2), done.stderr
    answer: dict[str, Any] = json.loads(done.stdout)
    assert "violation" not in answer, answer  # the answer keeps the spec
    return answer


def add_partner(desk: Desk, name: str, unit: str = "", *, revoked: bool = False) -> str:
    """A partner recorded in the desk's store; its API key (made once, as the CLI prints it)."""
    key, partner_id = new_api_key(), uuid.uuid4().hex
    events = [
        PartnerAdded(
            partner_id=partner_id,
            name=name,
            unit=unit,
            key_hash=api_key_hash(key),
            key_prefix=key[:9],
            added_by="test:open311",
        )
    ]
    if revoked:
        events.append(PartnerRevoked(partner_id=partner_id, reason="قرارداد پایان یافت", revoked_by="test"))
    record(desk, partner_stream(partner_id), *events)
    return key


def record(desk: Desk, stream: str, *events: Event) -> None:
    """Events appended to the desk's store as the service that owns `stream` records them."""
    store = open_store(store_url_of(desk))
    try:
        store.append(stream, [new_event(e, actor="test:open311") for e in events], StreamState.ANY)
    finally:
        store.close()


@pytest.fixture(scope="module")
def keys(desk: Desk) -> dict[str, str]:
    """An unbound partner, one bound to the wizard's unit, one to another unit, a revoked one;
    the keys work once identity's read model has them."""
    made = {
        "all": add_partner(desk, "سامانه ۱۳۷ شهرداری"),
        "rural": add_partner(desk, "دهیاری‌ها", RURAL),
        "other": add_partner(desk, "بازرسی", EVALUATION),
        "revoked": add_partner(desk, "همکار پیشین", revoked=True),
    }
    for name in ("all", "rural", "other"):
        eventually(lambda name=name: client(desk, "list", key=made[name])["status"] == 200)  # type: ignore[misc]
    return made


def file(
    desk: Desk, key: str, *extra: str, fmt: str = "json", service: str = WIZARD.service_id
) -> dict[str, Any]:
    return client(
        desk,
        "file",
        "--service", service,
        "--first-name", "مریم",
        "--last-name", "کاظمی",
        "--phone", "09123456789",
        "--email", "maryam@example.com",
        "--description", "چراغ‌های معابر روستا خاموش است",
        *extra,
        fmt=fmt,
        key=key,
    )  # fmt: skip


def test_discovery_names_the_endpoint_in_json_and_xml(desk: Desk) -> None:
    for fmt in ("json", "xml"):
        endpoint = client(desk, "discovery", fmt=fmt)["body"]["endpoints"][0]
        assert endpoint["url"] == f"http://127.0.0.1:{desk.ports['citizen']}/open311/v2"
        assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
        assert list(endpoint["formats"]) == ["application/json", "text/xml"]


def test_services_list_in_json_and_xml_with_the_units_as_groups(desk: Desk) -> None:
    as_json = client(desk, "services")
    as_xml = client(desk, "services", fmt="xml")
    assert as_json["status"] == as_xml["status"] == 200
    codes = {s["service_code"]: s for s in as_json["body"]}
    assert WIZARD.service_id in codes and LETTER.service_id in codes
    assert codes[WIZARD.service_id]["group"] == WIZARD.unit_name
    assert codes[WIZARD.service_id]["service_name"] == WIZARD.name
    assert [s["service_code"] for s in as_xml["body"]] == list(codes)
    assert {s["metadata"] for s in as_xml["body"]} == {"true"}


def test_a_services_attributes_in_json_and_xml_and_an_unknown_service(desk: Desk) -> None:
    wizard = client(desk, "service", WIZARD.service_id)["body"]
    by_code = {a["code"]: a for a in wizard["attributes"]}
    assert (
        by_code["previous_result"]["datatype"] == "singlevaluelist" and by_code["previous_result"]["values"]
    )
    letter = client(desk, "service", LETTER.service_id, fmt="xml")["body"]
    required = {a["code"]: a["required"] for a in letter["attributes"]}
    assert required == {"subject": "true", "province": "true"}
    missing = client(desk, "service", "99999999999")
    assert missing["status"] == 404
    assert client(desk, "service", "99999999999", fmt="xml")["status"] == 404


def test_a_partner_files_a_request_and_reads_it_back(desk: Desk, keys: dict[str, str]) -> None:
    filed = file(desk, keys["all"], "--attribute", "visit_description=دو بار تماس گرفتم")
    assert filed["status"] == 201
    answer = filed["body"][0]
    code, token = answer["service_request_id"], answer["token"]
    assert code.isdigit()
    read = eventually(lambda: (r := client(desk, "read", code, key=keys["all"]))["status"] == 200 and r)
    request = read["body"][0]
    assert request["service_request_id"] == code and request["status"] == "open"
    assert request["service_code"] == WIZARD.service_id
    assert request["agency_responsible"] == WIZARD.unit_name
    assert request["status_notes"] and request["requested_datetime"].endswith("+00:00")
    assert (request["first_name"], request["phone"], request["email"]) == (
        "مریم",
        "09123456789",
        "maryam@example.com",
    )
    assert request["description"] == "چراغ‌های معابر روستا خاموش است"
    assert client(desk, "token", token, key=keys["all"])["body"] == [
        {"service_request_id": code, "token": token}
    ]
    listed = client(
        desk, "list", "--service-request-id", code, "--status", "open", key=keys["all"], fmt="xml"
    )
    assert [r["service_request_id"] for r in listed["body"]] == [code]
    assert (
        client(desk, "list", "--service-request-id", code, "--status", "closed", key=keys["all"])["body"]
        == []
    )


def test_the_same_idempotency_key_files_once(desk: Desk, keys: dict[str, str]) -> None:
    first = file(desk, keys["all"], "--idempotency-key", "partner-retry-0001")["body"][0]
    again = file(desk, keys["all"], "--idempotency-key", "partner-retry-0001")["body"][0]
    assert again["service_request_id"] == first["service_request_id"]


def test_bad_input_is_answered_in_the_specs_error_shape(desk: Desk, keys: dict[str, str]) -> None:
    unknown = file(desk, keys["all"], "--attribute", "colour=red")
    assert unknown["status"] == 400 and "attribute[colour]" in unknown["body"][0]["description"]
    no_subject = file(desk, keys["all"], "--attribute", "province=fars", service=LETTER.service_id, fmt="xml")
    assert no_subject["status"] == 400 and "attribute[subject]" in no_subject["body"][0]["description"]
    assert file(desk, keys["all"], service="99999999999")["status"] == 404
    assert client(desk, "read", "1111111111", key=keys["all"])["status"] == 404
    assert client(desk, "token", "0" * 32, key=keys["all"], fmt="xml")["status"] == 404
    too_long = client(
        desk,
        "list",
        "--start-date",
        "2026-01-01T00:00:00Z",
        "--end-date",
        "2026-06-01T00:00:00Z",
        key=keys["all"],
    )
    assert too_long["status"] == 400


def test_a_revoked_or_missing_key_is_refused_with_403(desk: Desk, keys: dict[str, str]) -> None:
    assert file(desk, keys["revoked"])["status"] == 403
    assert file(desk, "pk_" + "x" * 32, fmt="xml")["status"] == 403
    assert client(desk, "list", key=keys["revoked"])["status"] == 403
    assert client(desk, "list")["status"] == 403
    base = f"http://127.0.0.1:{desk.ports['citizen']}/open311/v2"
    assert (
        httpx.get(f"{base}/requests.json", headers={"X-Api-Key": keys["all"]}, timeout=30).status_code == 200
    )
    assert (
        httpx.get(f"{base}/requests.json", headers={"X-Api-Key": keys["revoked"]}, timeout=30).status_code
        == 403
    )


def test_a_unit_bound_partner_reads_only_its_units_requests_without_personal_data(
    desk: Desk, keys: dict[str, str]
) -> None:
    code = file(desk, keys["all"])["body"][0]["service_request_id"]
    eventually(lambda: client(desk, "read", code, key=keys["all"])["status"] == 200)
    assert client(desk, "read", code, key=keys["other"])["status"] == 404
    assert code not in {r["service_request_id"] for r in client(desk, "list", key=keys["other"])["body"]}
    assert client(desk, "list", "--service-request-id", code, key=keys["other"])["body"] == []
    seen = client(desk, "read", code, key=keys["rural"])
    assert seen["status"] == 200
    request = seen["body"][0]
    text = json.dumps(request, ensure_ascii=False)
    assert "09123456789" not in text and "maryam@example.com" not in text and "کاظمی" not in text
    assert request["description"] != "چراغ‌های معابر روستا خاموش است"  # a citizen's text may name them
    assert code in {r["service_request_id"] for r in client(desk, "list", key=keys["rural"])["body"]}


def test_a_unit_bound_partner_reads_a_request_referred_to_its_unit_until_it_is_recalled(
    desk: Desk, keys: dict[str, str]
) -> None:
    filed = file(desk, keys["all"])["body"][0]
    code, request_id = filed["service_request_id"], filed["token"]
    eventually(lambda: client(desk, "read", code, key=keys["all"])["status"] == 200)
    assert client(desk, "read", code, key=keys["other"])["status"] == 404
    referral = {"request_id": request_id, "unit": EVALUATION, "actor": "clerk-open311"}
    record(desk, f"case-{request_id}", CaseReferred(**referral, instruction="لطفاً بررسی کنید."))
    eventually(lambda: client(desk, "read", code, key=keys["other"])["status"] == 200)
    assert code in {r["service_request_id"] for r in client(desk, "list", key=keys["other"])["body"]}
    record(desk, f"case-{request_id}", ReferralRecalled(**referral, reason="ارجاع اشتباه بود"))
    eventually(lambda: client(desk, "read", code, key=keys["other"])["status"] == 404)


def test_the_secretariat_receives_a_partner_filed_request_and_nothing_is_parked(
    desk: Desk, keys: dict[str, str]
) -> None:
    filed = file(desk, keys["all"])["body"][0]
    clerk = Principal(
        account_id="open311-clerk",
        kind="staff",
        display_name="سارا دبیری",
        roles=("clerk",),
        province=WIZARD.province,
    )
    with signed_in_client(desk, clerk, timeout=30) as backoffice:
        case = eventually(
            lambda: (r := backoffice.get(f"/api/requests/{filed['token']}")).status_code == 200 and r.json()
        )
        assert case["case"]["tracking_code"] == filed["service_request_id"]
        page = backoffice.get(f"/secretariat/cases/{filed['token']}")
        assert page.status_code == 200 and "مریم کاظمی" in page.text
    health = httpx.get(desk.url("citizen") + "/healthz", timeout=30).json()
    assert health["parked"] == {}, health


def test_odd_input_is_refused_in_the_specs_shape_never_with_500(desk: Desk, keys: dict[str, str]) -> None:
    base = f"http://127.0.0.1:{desk.ports['citizen']}/open311/v2"
    key = {"X-Api-Key": keys["all"]}
    asked = [
        ("GET", f"{base}/services/abc.xml", {}, None),
        ("GET", f"{base}/services.yaml", {}, None),
        ("GET", f"{base}/requests/abc.def.json", key, None),
        ("GET", f"{base}/requests.json?start_date=yesterday", key, None),
        ("GET", f"{base}/requests.json?status=maybe", key, None),
        ("GET", f"{base}/tokens/zz.json", key, None),
        ("GET", f"{base}/requests.json", {"X-Api-Key": "x" * 500}, None),
        ("POST", f"{base}/requests.json", key, {"service_code": WIZARD.service_id, "description": "a\x00b"}),
        ("POST", f"{base}/requests.json", key, {"service_code": WIZARD.service_id, "first_name": "م"}),
        (
            "POST",
            f"{base}/requests.json",
            key,
            {"service_code": "x" * 300, "description": "d", "last_name": "ک"},
        ),
        (
            "POST",
            f"{base}/requests.json",
            {**key, "Content-Type": "multipart/form-data; boundary=zz"},
            "--zz\r\nbad",
        ),
    ]
    for method, url, headers, body in asked:
        answer = httpx.request(
            method, url, headers=headers, data=body if isinstance(body, dict) else None,
            content=body if isinstance(body, str) else None, timeout=30,
        )  # fmt: skip
        assert 400 <= answer.status_code < 500, (url, body, answer.status_code, answer.text)
        if url.endswith(".xml"):
            assert answer.text.startswith("<?xml") and "<errors><error><code>" in answer.text
        else:
            errors = answer.json()
            assert isinstance(errors, list) and errors[0]["code"] == answer.status_code, (url, errors)
