"""Every POST route of both gateways, found from the apps' routes, refuses a signed-in post
without a valid CSRF token (forms: the `csrf_token` field; JSON API: the `X-CSRF-Token` header)."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from contracts.errors import MESSAGES
from deploy.run import Desk
from gateway.backoffice.app import app as backoffice_app
from gateway.citizen.app import app as citizen_app
from gateway.web.auth import Principal
from tests.attacks.conftest import citizen_principal, client

pytestmark = [pytest.mark.integration, pytest.mark.attacks]

EVERY_ROLE = Principal(
    account_id="staff-all",
    kind="staff",
    display_name="همه نقش‌ها",
    roles=("desk_officer", "clerk", "representative", "admin"),
    province="tehran",
    unit="permits",
)
PARAMS = {"action": "note", "service_id": "17011230002"}
# Pages that first load what they act on (a pending code, a survey in progress, the account's
# profile, a verification case) and send a caller without it elsewhere before the form is read:
# a redirect or a not-found there changes nothing, and the CSRF check still guards the action.
LOADS_FIRST = {
    "/code": 303,
    "/login/code": 303,
    "/survey/details": 303,
    "/survey/questions": 303,
    "/account/edit": 404,
    "/account/password": 404,
    "/account/mobile": 404,
    "/verification": 404,
}


def post_paths(app: Starlette) -> list[str]:
    """Every POST path of `app`, its parameters filled in."""
    paths = []
    for route in app.routes:
        if isinstance(route, Route) and "POST" in (route.methods or ()):
            paths.append(
                re.sub(r"\{(\w+)(?::\w+)?\}", lambda m: PARAMS.get(m.group(1), uuid.uuid4().hex), route.path)
            )
    return paths


def refused(answer: httpx.Response, path: str) -> bool:
    if path.startswith("/open311/"):
        # Open311 is a partners' API: only its `api_key` authorises, never a session cookie, so a
        # forged page gains nothing there (no key: 403 in the spec's shape; an unknown format: 404)
        return answer.status_code in (403, 404)
    if path.startswith("/identity/cases/"):
        # the case is loaded first, for the officer's reach: this session's account is no desk
        # officer in the store (403), and the case does not exist (404)
        return answer.status_code in (403, 404)
    if answer.status_code == LOADS_FIRST.get(path, 0):
        return True
    if answer.status_code != 403:
        return False
    if path.startswith("/api/"):
        return bool(answer.json()["error"]["code"] == "csrf_failed")
    return MESSAGES["csrf_failed"][1] in answer.text


@pytest.mark.parametrize(
    ("app", "principal"),
    [(citizen_app, citizen_principal("csrf")), (backoffice_app, EVERY_ROLE)],
    ids=["citizen", "backoffice"],
)
def test_every_post_without_a_valid_token_is_refused(
    desk: Desk, app: Starlette, principal: Principal
) -> None:
    paths = post_paths(app)
    assert len(paths) >= 10
    accepted = []
    with client(desk, principal) as signed:
        signed.headers.pop("X-CSRF-Token")
        for path in paths:
            if path.startswith("/api/"):
                answers = [signed.post(path, json={}, headers=h) for h in ({}, {"X-CSRF-Token": "forged"})]
            else:
                upload = {"file": ("a.pdf", b"%PDF-1.4", "application/pdf")}
                answers = [
                    signed.post(path, data={"subject": "x"}),
                    signed.post(path, data={"subject": "x", "csrf_token": "forged"}),
                    signed.post(path, data={"csrf_token": ""}, files=upload),
                ]
            accepted += [(path, a.status_code) for a in answers if not refused(a, path)]
    assert accepted == [], "\n".join(map(str, accepted))


ODD_VALUES = ["", "-1", "9" * 30, "<script>%00", "۱۲۳", "a" * 300]


def get_paths(app: Starlette) -> list[str]:
    """Every GET path of `app`, with odd parameter values."""
    paths = []
    for route in app.routes:
        if isinstance(route, Route) and "GET" in (route.methods or ()):
            for odd in ("x", "9" * 30):
                paths.append(re.sub(r"\{(\w+)(?::\w+)?\}", odd, route.path))
    return sorted(set(paths))


@pytest.mark.parametrize(
    ("app", "principal"),
    [(citizen_app, citizen_principal("odd")), (backoffice_app, EVERY_ROLE)],
    ids=["citizen", "backoffice"],
)
def test_odd_paths_and_query_strings_never_answer_500(
    desk: Desk, app: Starlette, principal: Principal
) -> None:
    names = ("folder", "step", "after", "v", "offset", "period", "date_from", "date_to", "status", "next")
    names += (
        "national_code",
        "tracking_code",
        "registration_number",
        "organisation",
        "limit",
        "unit",
        "done",
    )
    crashed = []
    with client(desk, principal) as signed:
        for path in get_paths(app):
            for odd in ODD_VALUES:
                answer = signed.get(path, params=dict.fromkeys(names, odd))
                if answer.status_code >= 500:
                    crashed.append((path, odd[:20], answer.status_code))
    assert crashed == [], "\n".join(map(str, crashed))
