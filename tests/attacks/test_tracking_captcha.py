"""Guessing tracking codes from an address shared by many citizens (a پیشخوان office, a carrier's
NAT): past `TRACK_ATTEMPTS` the tracking page asks for identity's captcha instead of refusing
everyone behind the address, while the JSON API, which cannot show one, still answers 429.
Every request comes from 127.0.0.1; this desk allows 3 failed look-ups per 600 seconds."""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Iterator

import httpx
import pytest

from contracts.errors import MESSAGES
from contracts.persian import persian_digits
from deploy.run import Desk
from tests.attacks.conftest import citizen_principal, client, file_letter
from tests.captchas import answer_of, secret_of, token_in
from tests.desk import running_desk
from tests.integration.test_identity_flow import csrf_of, identity_env

pytestmark = [pytest.mark.integration, pytest.mark.attacks]

CAPTCHA = MESSAGES["captcha_required"][1]
PNG = b"\x89PNG\r\n\x1a\n"
MOBILE = "09123456789"  # the applicant's mobile in `file_letter`


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """A desk that allows 3 failed look-ups per address."""
    folder = tmp_path_factory.mktemp("tracking")
    with running_desk(folder, "postgresql", TRACK_ATTEMPTS="3/600", **identity_env(folder)) as running:
        yield running


@pytest.fixture(scope="module")
def tracking(desk: Desk) -> str:
    """The tracking code of a letter filed through the pages, once its tracking view has it."""
    with client(desk, citizen_principal("پیگیر")) as citizen:
        request_id, code = file_letter(citizen)
        deadline = time.monotonic() + 30
        while f'data-request="{request_id}"' not in citizen.get("/cartable").text:
            assert time.monotonic() < deadline, "the request never reached the citizen's views"
            time.sleep(0.2)
    return code


def browser(desk: Desk) -> httpx.Client:
    return httpx.Client(base_url=desk.url("citizen"), timeout=60)


def error_of(page: httpx.Response) -> str | None:
    found = re.search(r'id="error">([^<]+)<', page.text)
    return found.group(1) if found else None


def test_past_the_limit_the_tracking_page_asks_for_a_captcha_and_a_solved_one_goes_through(
    desk: Desk, tracking: str
) -> None:
    with browser(desk) as guesser:
        page = guesser.get("/track")
        assert token_in(page) is None  # under the limit: no captcha
        form = {"csrf_token": csrf_of(page), "tracking_code": tracking}
        for _ in range(3):
            assert guesser.post("/track", data={**form, "second_factor": "09120000000"}).status_code == 404

    with browser(desk) as citizen:  # another citizen behind the same address
        page = citizen.get("/track")
        assert page.status_code == 200 and error_of(page) is None
        token = token_in(page)
        assert token is not None, "the tracking page must show a captcha, not a refusal"
        image = re.search(r'<img src="data:image/png;base64,([^"]+)" alt="([^"]+)"', page.text)
        assert image is not None and base64.b64decode(image.group(1)).startswith(PNG)
        assert "کد امنیتی" in image.group(2) and '<label for="captcha">کد امنیتی</label>' in page.text
        assert re.search(r'<a href="/track" id="captcha-new">کد امنیتی جدید</a>', page.text)

        # A wrong answer is refused in Persian, with what was typed kept and a new captcha.
        typed = {"csrf_token": csrf_of(page), "tracking_code": tracking, "second_factor": MOBILE}
        wrong = "0" if answer_of(token, secret_of(desk)) != "00000" else "1"
        refused = citizen.post("/track", data={**typed, "captcha_token": token, "captcha": wrong * 5})
        assert refused.status_code == 422 and error_of(refused) == CAPTCHA
        kept = (f'value="{persian_digits(tracking)}"', f'value="{persian_digits(MOBILE)}"')  # Persian digits
        assert all(value in refused.text for value in kept)
        assert 'id="track-result"' not in refused.text
        fresh = token_in(refused)
        assert fresh is not None and fresh != token

        # Without any answer: the same.
        bare = citizen.post("/track", data=typed)
        assert bare.status_code == 422 and error_of(bare) == CAPTCHA and token_in(bare) is not None

        # The right answer (typed in Persian digits) with the right code shows the request.
        answer = persian_digits(answer_of(fresh, secret_of(desk)))
        found = citizen.post("/track", data={**typed, "captcha_token": fresh, "captcha": answer})
        assert found.status_code == 200, error_of(found)
        assert 'id="track-result"' in found.text and "کاظمی" not in found.text

        # One image answers one try: the spent token does not let a second look-up through.
        again = citizen.post("/track", data={**typed, "captcha_token": fresh, "captcha": answer})
        assert again.status_code == 422 and error_of(again) == CAPTCHA

    # The JSON API cannot show a captcha: it still refuses the address, pointing to the page.
    with browser(desk) as api:
        limited = api.get(f"/api/requests/{tracking}", params={"national_code": "0084575948"})
        assert limited.status_code == 429
        assert limited.json()["error"]["code"] == "track_limited"
        assert "/track" in limited.json()["error"]["message"]


def test_a_failed_look_up_past_the_limit_shows_a_new_captcha(desk: Desk, tracking: str) -> None:
    with browser(desk) as guesser:
        page = guesser.get("/track")
        for _ in range(3):  # up to the limit, if the other test has not reached it yet
            if token_in(page) is not None:
                break
            form = {"csrf_token": csrf_of(page), "tracking_code": tracking, "second_factor": "09120000000"}
            page = guesser.post("/track", data=form)
        page = guesser.get("/track")
        token = token_in(page)
        assert token is not None
        solved = {"captcha_token": token, "captcha": answer_of(token, secret_of(desk))}
        form = {"csrf_token": csrf_of(page), "tracking_code": tracking, "second_factor": "09120000000"}
        missed = guesser.post("/track", data={**form, **solved})
        assert missed.status_code == 404 and 'id="track-result"' not in missed.text
        assert error_of(missed) == MESSAGES["request_not_found"][1]
        assert token_in(missed) is not None  # the next try needs a captcha again, shown at once
