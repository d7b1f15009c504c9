"""One `Idempotency-Key` names one command of one caller: another caller, another body, another
file or a `command_id` smuggled into the body never gets someone else's answer; and no body,
however deep or malformed, makes a gateway answer 500 or drop its keep-alive connection."""

from __future__ import annotations

import json
import re
import socket
import uuid
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from contracts.errors import MESSAGES
from deploy.run import Desk
from gateway.backoffice.app import app as backoffice_app
from gateway.citizen.app import app as citizen_app
from gateway.common import scoped_command_id
from gateway.web.auth import Principal
from tests.attacks.conftest import TOKEN, append_request, citizen_principal, client, staff_principal
from tests.attacks.test_csrf import PARAMS
from tests.desk import CSRF_FOR_TESTS, session_cookie
from tests.integration.test_walking_skeleton import eventually
from tests.unit.test_requests_files import PDF

pytestmark = [pytest.mark.integration, pytest.mark.attacks]

BODY = {
    "national_code": "0084575948",
    "full_name": "مریم کاظمی",
    "mobile": "09123456789",
    "province": "tehran",
    "subject": "درخواست مجوز",
    "text": "متن درخواست نخست",
}
OTHER_BODY = BODY | {"national_code": "0012345679", "full_name": "علی رضایی", "text": "متن دیگری"}
CLERK = staff_principal("clerk", province="tehran")
SECOND_CLERK = Principal(
    account_id="clerk-tehran-2", kind="staff", display_name="کارشناس دوم", roles=("clerk",), province="tehran"
)
ADMIN = Principal(
    account_id="admin-idempotency",
    kind="staff",
    display_name="مدیر",
    roles=("admin", "clerk"),
    province="tehran",
)
DEEP = b"[" * 100_000
REUSED = MESSAGES["idempotency_key_reused"][1]


def new_key() -> dict[str, str]:
    return {"Idempotency-Key": f"key-{uuid.uuid4().hex}"}


def reused(answer: httpx.Response) -> bool:
    error = answer.json().get("error") or {}
    return (
        answer.status_code == 422
        and error.get("code") == "idempotency_key_reused"
        and error["message"] == REUSED
    )


def test_two_anonymous_callers_with_one_key_never_share_an_answer(desk: Desk) -> None:
    key = new_key()
    with client(desk, None) as first, client(desk, None) as second:
        mine = first.post("/api/requests", json=BODY, headers=key)
        assert mine.status_code == 201, mine.text
        request_id, tracking_code = mine.json()["request_id"], mine.json()["tracking_code"]

        theirs = second.post("/api/requests", json=OTHER_BODY, headers=key)
        assert reused(theirs), theirs.text
        assert request_id not in theirs.text and tracking_code not in theirs.text

        again = first.post("/api/requests", json=BODY, headers=key)  # a retry is still a retry
        assert (again.status_code, again.json()) == (201, mine.json())
        # The second caller's request was never stored: under its own key it is a new request.
        own = second.post("/api/requests", json=OTHER_BODY, headers=new_key())
        assert own.status_code == 201 and own.json()["request_id"] != request_id
        own_code = own.json()["tracking_code"]
        tracked = eventually(
            lambda: (
                (
                    view := second.get(f"/api/requests/{own_code}", params={"national_code": "0012345679"})
                ).status_code
                == 200
                and view.json()
            )
        )
        assert tracked["request_id"] == own.json()["request_id"]
        # A signed-in citizen sending the anonymous key names a command of their own.
        with client(desk, citizen_principal("الف")) as signed:
            apart = signed.post("/api/requests", json=OTHER_BODY, headers=key)
        assert apart.status_code == 201 and apart.json()["request_id"] not in (
            request_id,
            own.json()["request_id"],
        )


def test_signed_in_citizens_sharing_a_key_each_get_their_own_request(desk: Desk) -> None:
    key = new_key()
    with client(desk, citizen_principal("الف")) as a, client(desk, citizen_principal("ب")) as b:
        first = a.post("/api/requests", json=BODY, headers=key)
        other = b.post("/api/requests", json=OTHER_BODY, headers=key)
        assert first.status_code == other.status_code == 201, (first.text, other.text)
        assert other.json()["request_id"] != first.json()["request_id"]
        assert other.json()["tracking_code"] != first.json()["tracking_code"]
        assert a.post("/api/requests", json=BODY, headers=key).json() == first.json()
        changed = a.post("/api/requests", json=BODY | {"subject": "موضوع دیگر"}, headers=key)
        assert reused(changed) and first.json()["tracking_code"] not in changed.text


def test_a_command_id_in_the_body_is_ignored(desk: Desk) -> None:
    owner = citizen_principal("الف")
    key = new_key()
    with client(desk, owner) as a, client(desk, citizen_principal("ب")) as b, client(desk, None) as stranger:
        first = a.post("/api/requests", json=BODY, headers=key)
        assert first.status_code == 201
        taken = scoped_command_id(owner.account_id, key["Idempotency-Key"])
        for caller in (b, stranger, a):
            for smuggled in ({"command_id": taken}, {"command_id": taken, "fingerprint": "0" * 64}):
                answer = caller.post("/api/requests", json=BODY | smuggled)
                assert answer.status_code == 201, answer.text
                assert answer.json()["request_id"] != first.json()["request_id"]
                assert first.json()["tracking_code"] not in answer.text


def test_a_clerks_reply_form_with_files_names_one_command(desk: Desk) -> None:
    request_id, other_id = append_request(desk), append_request(desk)
    with client(desk, CLERK) as clerk, client(desk, SECOND_CLERK) as colleague:
        for numbered in (request_id, other_id):
            file = f"/api/requests/{numbered}"
            eventually(lambda file=file: clerk.get(file).status_code == 200)
            assert clerk.post(f"{file}/number").status_code == 201
            eventually(lambda file=file: clerk.get(file).json()["case"]["registration_number"])
        form = {**TOKEN, "kind": "interim", "body": "پاسخ میانی", "command_id": uuid.uuid4().hex}
        path = f"/secretariat/cases/{request_id}/reply"

        def reply(who: httpx.Client, data: bytes, **changed: str) -> httpx.Response:
            files = {"attachments": ("پاسخ.pdf", data, "application/pdf")}
            return who.post(path, data=form | changed, files=files)

        def replies() -> list[Any]:
            return list(clerk.get(f"/api/requests/{request_id}").json()["replies"])

        assert reply(clerk, PDF + b"first").status_code == 303
        assert reply(clerk, PDF + b"first").status_code == 303  # the same form twice: one reply
        other_file = reply(clerk, PDF + b"second")
        assert other_file.status_code == 422 and REUSED in other_file.text
        assert reply(clerk, PDF + b"first", body="متن دیگر").status_code == 422
        # Another clerk's page cannot name this clerk's command with the key it saw.
        assert reply(colleague, PDF + b"first").status_code == 303
        shown = eventually(lambda: len(items := replies()) == 2 and items)
        assert sorted(r["clerk"] for r in shown) == sorted([CLERK.account_id, SECOND_CLERK.account_id])

        # The JSON API: the same key and body again is one reply, another body is refused.
        key = new_key()
        api = f"/api/requests/{request_id}/replies"
        first = clerk.post(api, json={"kind": "interim", "body": "پاسخ دوم"}, headers=key)
        assert first.status_code == 201, first.text
        assert (
            clerk.post(api, json={"kind": "interim", "body": "پاسخ دوم"}, headers=key).json() == first.json()
        )
        assert reused(clerk.post(api, json={"kind": "interim", "body": "پاسخ سوم"}, headers=key))
        # The same key on another request: not a retry either (the store alone raised a 500).
        elsewhere = clerk.post(f"/api/requests/{other_id}/replies", json={"body": "پاسخ دوم"}, headers=key)
        assert reused(elsewhere)
        eventually(lambda: len(replies()) == 3)


def test_an_administrators_template_key_names_one_change(desk: Desk) -> None:
    key = new_key()
    text = "درخواست شما با کد {tracking_code} ثبت شد."
    body = {"organisation": f"org-{uuid.uuid4().hex[:8]}", "template": "request_received", "text": text}
    with client(desk, ADMIN) as admin:
        first = admin.post("/api/notify/templates", json=body, headers=key)
        assert first.status_code == 201, first.text
        assert admin.post("/api/notify/templates", json=body, headers=key).json() == first.json()
        assert reused(
            admin.post("/api/notify/templates", json=body | {"text": text + " " + "!"}, headers=key)
        )
        other = body | {"template": "otp_login", "text": "کد: {code}"}
        assert reused(admin.post("/api/notify/templates", json=other, headers=key))


# -- bodies ---------------------------------------------------------------------------------


def http_request(
    path: str,
    body: bytes,
    headers: dict[str, str],
    content_type: str = "application/json",
    method: str = "POST",
) -> bytes:
    head = [f"{method} {path} HTTP/1.1", "Host: pishkhan.test", f"Content-Type: {content_type}"]
    head += [f"Content-Length: {len(body)}", *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


def on_one_connection(url: str, requests: list[bytes]) -> list[tuple[int, dict[str, str], bytes]]:
    """Send `requests` one after the other on one keep-alive connection; each answer."""
    address = httpx.URL(url)
    answers = []
    with (
        socket.create_connection((address.host, address.port), timeout=60) as connection,
        connection.makefile("rb") as stream,
    ):
        for raw in requests:
            connection.sendall(raw)
            status = stream.readline()
            assert status.startswith(b"HTTP/1.1 "), f"the connection was dropped after {answers}"
            headers = {}
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            answers.append(
                (int(status.split()[1]), headers, stream.read(int(headers.get("content-length", 0))))
            )
    return answers


def signed_headers(desk: Desk, principal: Principal | None) -> dict[str, str]:
    if principal is None:
        return {}
    cookie = session_cookie(desk, principal)
    return {"Cookie": f"{cookie['name']}={cookie['value']}", "X-CSRF-Token": CSRF_FOR_TESTS}


API_ROUTES = [
    ("citizen", None, "/api/requests"),
    ("citizen", None, "/api/survey/open"),
    ("citizen", None, "/api/survey/answers"),
    ("citizen", citizen_principal("ژرف"), "/api/requests"),
    ("backoffice", ADMIN, "/api/notify/templates"),
    ("backoffice", ADMIN, "/api/requests/{request_id}/replies"),
]


@pytest.mark.parametrize(
    ("gateway", "principal", "path"), API_ROUTES, ids=[f"{g}{p}" for g, _, p in API_ROUTES]
)
def test_deep_json_is_refused_and_the_connection_serves_the_next_request(
    desk: Desk, gateway: str, principal: Principal | None, path: str
) -> None:
    headers = signed_headers(desk, principal)
    path = path.format(request_id=uuid.uuid4().hex)
    just_too_deep = b'{"text": ' + b"[" * 32 + b"1" + b"]" * 32 + b"}"  # 33 levels
    bodies = [DEEP, b'{"subject":' * 20_000, just_too_deep]
    bodies += [b"{", b"[1, 2]", b'"text"', b"\xff\xfe\xfa", b'{"text": NaN}', b'{"subject": "\\ud800"}']
    healthz = b"GET /healthz HTTP/1.1\r\nHost: pishkhan.test\r\n\r\n"
    answers = on_one_connection(
        desk.url(gateway), [http_request(path, body, headers) for body in bodies] + [healthz]
    )
    for body, (status, answer_headers, content) in zip(bodies, answers, strict=False):
        assert status == 400, (body[:40], status, content[:200])
        assert json.loads(content)["error"]["code"] == "invalid_json"
        assert answer_headers.get("connection", "").lower() != "close"
    assert answers[-1][0] in (200, 503)  # the same connection answered the next request


WITH_BODY = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BAD_BODIES = [
    ("application/json", DEEP),
    ("application/json", b'{"a":' * 50_000),
    ("application/json", b"\x00\xff" * 100),
    ("application/x-www-form-urlencoded", b"a=" + b"%ff" * 1000 + b"&csrf_token=%00&" + b"[" * 10_000),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\n" + DEEP),
    ("multipart/form-data", DEEP),
    ("text/plain", DEEP),
]


def routes_with_bodies(app: Starlette) -> list[tuple[str, str]]:
    """Every route of `app` whose method takes a body, its path parameters filled in."""
    found = []
    for route in app.routes:
        if isinstance(route, Route):
            path = re.sub(
                r"\{(\w+)(?::\w+)?\}", lambda m: PARAMS.get(m.group(1), uuid.uuid4().hex), route.path
            )
            found += [(method, path) for method in sorted(route.methods or ()) if method in WITH_BODY]
    return found


@pytest.mark.parametrize(
    ("app", "gateway", "principal"),
    [
        (citizen_app, "citizen", None),
        (citizen_app, "citizen", citizen_principal("بدنه")),
        (backoffice_app, "backoffice", ADMIN),
    ],
    ids=["citizen-anonymous", "citizen-signed-in", "backoffice-admin"],
)
def test_no_body_makes_any_route_answer_500(
    desk: Desk, app: Starlette, gateway: str, principal: Principal | None
) -> None:
    headers = signed_headers(desk, principal)
    crashed = []
    for method, path in routes_with_bodies(app):
        requests = [http_request(path, body, headers, kind, method) for kind, body in BAD_BODIES]
        try:
            answers = on_one_connection(desk.url(gateway), requests)
        except (AssertionError, OSError) as dropped:
            crashed.append((method, path, "dropped", repr(dropped)[:300]))
            continue
        for (kind, body), (status, _, content) in zip(BAD_BODIES, answers, strict=True):
            if status >= 500:
                crashed.append((method, path, kind, body[:20], status, content[:120]))
    assert crashed == [], "\n".join(map(str, crashed))
