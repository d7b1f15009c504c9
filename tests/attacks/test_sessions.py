"""Open sessions follow the account: a revoked role, a disabled account or a new password takes
effect on the next request of every session signed in before (not only at the next sign-in);
the staff page's «لغو» revokes a clerk's and a representative's role; a desk officer bound to a
province reads no other province's SMS. Real sign-ins through the pages of both gateways."""

from __future__ import annotations

import contextlib
import json
from base64 import b64encode
from collections.abc import Iterator

import httpx
import pytest
from itsdangerous import TimestampSigner

from deploy.run import Desk
from services.identity.accounts import citizen_id, staff_id
from tests.attacks.conftest import append_request, client, register, staff_principal
from tests.desk import session_secret_of
from tests.integration.test_identity_flow import ADMIN, code_for, csrf_of, error_of, post_form
from tests.integration.test_walking_skeleton import eventually

pytestmark = [pytest.mark.integration, pytest.mark.attacks]

SEEN: set[str] = set()
STAFF_PASSWORD = "Staff-Desk-1403!"


@contextlib.contextmanager
def staff_session(desk: Desk, national_code: str, mobile: str) -> Iterator[httpx.Client]:
    """A staff member signed in for real: password, then the code sent to their mobile."""
    office = httpx.Client(base_url=desk.url("backoffice"), timeout=60, follow_redirects=True)
    code_page = post_form(office, "/login", {"national_code": national_code, "password": STAFF_PASSWORD})
    assert code_page.url.path == "/login/code", error_of(code_page)
    home = post_form(office, "/login/code", {"code": code_for(desk, mobile, SEEN), "action": "verify"})
    assert home.url.path == "/identity/home", home.text[-500:]
    with contextlib.closing(office):
        yield office


@pytest.fixture(scope="module")
def admin(desk: Desk) -> Iterator[httpx.Client]:
    """The desk's first administrator, signed in through the pages."""
    office = httpx.Client(base_url=desk.url("backoffice"), timeout=60, follow_redirects=True)
    code_page = post_form(
        office, "/login", {"national_code": ADMIN["ADMIN_NATIONAL_CODE"], "password": ADMIN["ADMIN_PASSWORD"]}
    )
    assert code_page.url.path == "/login/code", error_of(code_page)
    post_form(
        office, "/login/code", {"code": code_for(desk, ADMIN["ADMIN_MOBILE"], SEEN), "action": "verify"}
    )
    with contextlib.closing(office):
        yield office


def on_staff_page(admin: httpx.Client, path: str, data: dict[str, str]) -> httpx.Response:
    """Post one of the staff page's forms as the page does (its CSRF token, its fields)."""
    token = csrf_of(admin.get("/identity/staff"))
    return admin.post(path, data={**data, "csrf_token": token}, follow_redirects=False)


def new_staff(admin: httpx.Client, national_code: str, mobile: str, name: str, **role: str) -> str:
    """A staff account made on the staff page, with one role granted there."""
    form = {"national_code": national_code, "full_name": name, "mobile": mobile, "password": STAFF_PASSWORD}
    made = on_staff_page(admin, "/identity/staff", form)
    assert made.status_code == 303, made.text[-500:]
    account = staff_id(national_code)
    if role:
        grant = {"province": "", "unit": "", **role, "action": "grant"}
        granted = on_staff_page(admin, f"/identity/staff/{account}/roles", grant)
        assert granted.status_code == 303, granted.text[-500:]
    return account


def revoke_on_page(admin: httpx.Client, account: str, role: str) -> httpx.Response:
    """The «لغو» button next to a role: its form sends the role and the action, nothing else."""
    return on_staff_page(admin, f"/identity/staff/{account}/roles", {"role": role, "action": "revoke"})


def signed_out(answer: httpx.Response) -> bool:
    """A page that sends its visitor to sign in."""
    return answer.status_code == 303 and answer.headers["location"].startswith("/login")


def test_a_clerk_whose_role_is_revoked_on_the_staff_page_is_signed_out_at_once(
    desk: Desk, admin: httpx.Client
) -> None:
    account = new_staff(admin, "7712345007", "09171230001", "کارشناس تهران", role="clerk", province="tehran")
    request_id = append_request(desk, province="tehran")
    with staff_session(desk, "7712345007", "09171230001") as clerk:
        assert clerk.get("/secretariat/cartable").status_code == 200
        token = csrf_of(clerk.get("/secretariat/cartable"))
        eventually(lambda: clerk.get(f"/api/requests/{request_id}").status_code == 200)

        revoked = revoke_on_page(admin, account, "clerk")
        assert revoked.status_code == 303, (revoked.status_code, error_of(revoked))
        assert admin.get("/identity/staff").status_code == 200  # the administrator goes on working
        assert signed_out(clerk.get("/secretariat/cartable", follow_redirects=False))
        numbered = clerk.post(f"/api/requests/{request_id}/number", headers={"X-CSRF-Token": token})
        assert numbered.status_code in (401, 403), numbered.text
        assert numbered.json()["error"]["code"] in ("not_signed_in", "forbidden")
        assert clerk.get("/api/inbox").json()["error"]["code"] == "not_signed_in"
    case = admin.get(f"/api/requests/{request_id}").json()["case"]
    assert case["registration_number"] is None


def test_a_representative_whose_role_is_revoked_on_the_staff_page_is_signed_out_at_once(
    desk: Desk, admin: httpx.Client
) -> None:
    account = new_staff(
        admin, "7712345015", "09171230002", "پیگیر مجوز", role="representative", unit="permits"
    )
    with staff_session(desk, "7712345015", "09171230002") as representative:
        assert representative.get("/secretariat/cartable").status_code == 200
        revoked = revoke_on_page(admin, account, "representative")
        assert revoked.status_code == 303, (revoked.status_code, error_of(revoked))
        assert signed_out(representative.get("/secretariat/cartable", follow_redirects=False))
    staff_row = admin.get("/identity/staff").text.split(f'data-account="{account}"')[1].split("</tr>")[0]
    assert 'type="hidden" name="role" value="representative"' not in staff_row  # its «لغو» form is gone


def test_a_granted_role_shows_at_once_and_a_disabled_account_is_signed_out_and_refused(
    desk: Desk, admin: httpx.Client
) -> None:
    account = new_staff(admin, "7712345023", "09171230003", "مسئول میز خدمت")
    with staff_session(desk, "7712345023", "09171230003") as officer:
        assert 'id="to-cartable"' not in officer.get("/identity/home").text
        grant = {"role": "desk_officer", "province": "", "unit": "", "action": "grant"}
        assert on_staff_page(admin, f"/identity/staff/{account}/roles", grant).status_code == 303
        assert 'id="to-cartable"' in officer.get("/identity/home").text  # the same session

        no_reason = on_staff_page(admin, f"/identity/staff/{account}/access", {"action": "disable"})
        assert no_reason.status_code == 422 and "دلیل" in error_of(no_reason)
        disabled = on_staff_page(
            admin, f"/identity/staff/{account}/access", {"action": "disable", "reason": "پایان همکاری"}
        )
        assert disabled.status_code == 303, error_of(disabled)
        assert signed_out(officer.get("/identity/cartable", follow_redirects=False))
        assert officer.get("/api/notify/messages").json()["error"]["code"] == "not_signed_in"
    row = admin.get("/identity/staff").text.split(f'data-account="{account}"')[1].split("</tr>")[0]
    assert "پایان همکاری" in row

    with httpx.Client(base_url=desk.url("backoffice"), timeout=60, follow_redirects=True) as again:
        refused = post_form(again, "/login", {"national_code": "7712345023", "password": STAFF_PASSWORD})
        assert refused.url.path == "/login" and "غیرفعال" in error_of(refused), error_of(refused)

    enabled = on_staff_page(
        admin, f"/identity/staff/{account}/access", {"action": "enable", "reason": "بازگشت به کار"}
    )
    assert enabled.status_code == 303, error_of(enabled)
    with staff_session(desk, "7712345023", "09171230003") as back:
        assert back.get("/identity/cartable").status_code == 200


def test_a_citizen_disabled_through_the_api_is_signed_out_and_cannot_sign_in(
    desk: Desk, admin: httpx.Client
) -> None:
    with contextlib.closing(register(desk, "7712345031", "09171230004")) as citizen:
        assert citizen.get("/account").url.path == "/account"
        token = csrf_of(admin.get("/identity/staff"))
        url = f"/api/identity/accounts/{citizen_id('7712345031')}"
        missing = admin.post(f"{url}/disable", json={}, headers={"X-CSRF-Token": token})
        assert (missing.status_code, missing.json()["error"]["code"]) == (422, "reason_required")
        done = admin.post(f"{url}/disable", json={"reason": "شکایت قضایی"}, headers={"X-CSRF-Token": token})
        assert done.status_code == 200 and done.json()["disabled"] is True, done.text
        assert signed_out(citizen.get("/account", follow_redirects=False))
        assert citizen.get("/api/identity/me").json()["error"]["code"] == "not_signed_in"
    login = {"national_code": "7712345031", "password": "Golbarg-1403!"}
    with httpx.Client(base_url=desk.url("citizen"), timeout=60) as api:
        refused = api.post("/api/identity/login", json=login)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, "account_disabled")
        again = admin.post(f"{url}/enable", json={"reason": "رفع شکایت"}, headers={"X-CSRF-Token": token})
        assert again.status_code == 200 and again.json()["disabled"] is False
        assert api.post("/api/identity/login", json=login).status_code == 200


def test_a_new_password_ends_every_other_session_and_keeps_its_own(desk: Desk) -> None:
    with (
        contextlib.closing(register(desk, "7712345041", "09171230005")) as here,
        httpx.Client(base_url=desk.url("citizen"), timeout=60) as elsewhere,
    ):
        login = {"national_code": "7712345041", "password": "Golbarg-1403!"}
        assert elsewhere.post("/api/identity/login", json=login).status_code == 200
        assert elsewhere.get("/api/identity/me").status_code == 200
        changed = post_form(
            here,
            "/account/password",
            {
                "current_password": "Golbarg-1403!",
                "new_password": "Sousan-1404!",
                "new_password2": "Sousan-1404!",
            },
        )
        assert changed.url.path == "/account", error_of(changed)
        assert here.get("/account").url.path == "/account"  # the session that changed it goes on
        assert elsewhere.get("/api/identity/me").json()["error"]["code"] == "not_signed_in"


def test_a_session_naming_an_unknown_account_or_without_a_stamp_is_refused(desk: Desk) -> None:
    signer = TimestampSigner(session_secret_of(desk))
    for user in (
        {"account_id": "ghost-admin", "stamp": 0},
        {"account_id": "ghost-admin", "kind": "staff", "display_name": "x", "roles": ["admin"]},
    ):
        data = b64encode(json.dumps({"user": user, "csrf": "t"}).encode())
        with httpx.Client(base_url=desk.url("backoffice"), timeout=60) as forged:
            forged.cookies.set("pishkhan_backoffice", signer.sign(data).decode())
            assert forged.get("/api/inbox").json()["error"]["code"] == "not_signed_in"
            assert signed_out(forged.get("/identity/staff"))


def test_a_desk_officer_bound_to_a_province_reads_no_other_provinces_sms(desk: Desk) -> None:
    request_id = append_request(desk, province="tehran")
    isfahan = staff_principal("desk_officer", province="isfahan")
    with (
        client(desk, staff_principal("admin")) as everyone,
        client(desk, staff_principal("desk_officer")) as unbound,
        client(desk, staff_principal("clerk", province="tehran")) as tehran,
        client(desk, isfahan) as outsider,
    ):
        messages = eventually(
            lambda: everyone.get("/api/notify/messages", params={"request_id": request_id}).json()["items"],
            timeout=60,
        )
        mobile = messages[0]["to"]
        assert unbound.get("/api/notify/messages", params={"request_id": request_id}).json()["items"]
        assert tehran.get("/api/notify/messages", params={"request_id": request_id}).json()["items"]

        by_request = outsider.get("/api/notify/messages", params={"request_id": request_id})
        assert by_request.status_code in (403, 404), by_request.text[:300]
        assert mobile not in by_request.text
        for filters in ({"to": mobile}, {"status": "sent"}, {"channel": "sms"}, {}):
            listed = outsider.get("/api/notify/messages", params=filters)
            assert listed.status_code == 403 and mobile not in listed.text, (filters, listed.text[:300])
        assert outsider.get(f"/notify/requests/{request_id}").status_code in (403, 404)
        assert outsider.get("/notify/messages", params={"to": mobile}).status_code == 403
        assert 'href="/notify/messages"' not in outsider.get("/identity/home").text
