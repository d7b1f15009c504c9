"""Seed 004 on a whole desk: with `EMAIL_ACTIVATION=required`, registration asks for an e-mail,
the mobile code opens the account, the activation link arrives at the test SMTP server through
notify, signing in is refused (and the link re-sent) until the link is opened."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from deploy.run import Desk
from tests.desk import running_desk
from tests.integration.test_identity_flow import (
    PASSWORD,
    code_for,
    error_of,
    identity_env,
    post_form,
    solve_captcha,
)

pytestmark = pytest.mark.integration

EMAIL = "reza.karimi@example.ir"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    folder = tmp_path_factory.mktemp("activation")
    with running_desk(folder, "postgresql", EMAIL_ACTIVATION="required", **identity_env(folder)) as running:
        yield running


def _links(desk: Desk) -> list[str]:
    mails = httpx.get(desk.env["SMTP_SIMULATOR_URL"] + "/messages", timeout=10).json()["messages"]
    texts = [m["text"] for m in mails if m["to"] == [EMAIL]]
    return [link for text in texts for link in re.findall(r"https?://\S+/activate\?\S+", text)]


def test_an_account_opens_for_sign_in_only_through_its_emailed_link(desk: Desk) -> None:
    seen: set[str] = set()
    form = {
        "national_code": "0499370899",
        "mobile": "09127654321",
        "birth_date": "۱۳۶۵/۱۱/۲۰",
        "first_name": "رضا",
        "last_name": "کریمی",
        "password": PASSWORD,
        "password2": PASSWORD,
        "kind": "natural",
    }
    with httpx.Client(base_url=desk.url("citizen"), timeout=30, follow_redirects=True) as citizen:
        assert 'name="email"' in citizen.get("/register/mobile").text
        missing = post_form(citizen, "/register/mobile", form)
        assert missing.status_code == 422 and "پست الکترونیک" in error_of(missing)

        code_page = post_form(citizen, "/register/mobile", {**form, "email": "Reza.Karimi@Example.ir"})
        assert code_page.url.path == "/code", error_of(code_page)
        sent = post_form(citizen, "/code", {"code": code_for(desk, "09127654321", seen)})
        assert 'id="activation-sent"' in sent.text, error_of(sent)
        assert "r***@example.ir" in sent.text
        assert citizen.get("/account").url.path == "/login"  # not signed in
        (first,) = _links(desk)
        assert first.startswith(desk.url("citizen") + "/activate?account=")

        login = {"national_code": "0499370899", "password": PASSWORD}
        refused = post_form(citizen, "/login", login)
        assert "از طریق ایمیل فعال نشده" in error_of(refused)
        assert len(_links(desk)) == 2  # the refusal sent a fresh link

        forged = citizen.get(first.split("token=")[0] + "token=" + "A" * 43)
        assert forged.status_code == 400 and "معتبر نیست" in error_of(forged)

        opened = citizen.get(_links(desk)[-1])
        assert opened.status_code == 200 and 'id="activation-done"' in opened.text
        assert 'id="activation-done"' in citizen.get(first).text  # the older e-mail's link: same answer
        signed_in = solve_captcha(desk, citizen, post_form(citizen, "/login", login), "/login", login)
        assert signed_in.url.path == "/account", error_of(signed_in)
