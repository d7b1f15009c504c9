"""Each guide's citizen, walked in Chromium from the home page with clicks only (issue 23's «Done
when»): they register the way their guide registers, sign in, file on their guide's form, correct
the request the secretariat returns, read the reply online, answer the survey and, once the desk
has support tickets, ask its support a question. Every page they meet is photographed and read:
no Latin words, and every number (tracking code, registration number, date) in Persian digits.

The guides (../shared/seeds/): 000 registers through the civil registry's inquiry and files the
natural person's letter; 001 is the legal person who registers by mobile and is then validated
by the registry, signing in with a one-time code; 002 registers by mobile (Shahkar), signs in
with the code sent to the mobile and writes to an organisational unit; 003 files the six-step
wizard of the dehyari service; 004 activates the account by e-mail and has the identity
verified by the desk officer before filing (a desk with `EMAIL_ACTIVATION=required`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from contracts.persian import latin_digits, persian_digits
from contracts.survey import QUESTIONS
from deploy.run import Desk
from tests.desk import running_desk
from tests.e2e.guides import CLERK, DESK_OFFICER, Staff, Walk, foreign_words
from tests.integration.test_identity_flow import identity_env
from tests.steps import BIDI_MARKS, eventually
from tests.unit.test_requests_files import PDF

pytestmark = pytest.mark.e2e

PASSWORD = "Golbarg-1403!"
LETTER = "17011230001"  # ثبت و رهگیری مکاتبات اداری: the formal letter of seeds 000, 001 and 004
TO_A_UNIT = "17011230002"  # ارسال نامه به واحد سازمانی: seed 002's letter
DEHYARI = "10012134001"  # صدور مجوز تاسیس دهیاری های کشور: seed 003's wizard
RETURN_REASON = "امضای نامه خوانا نیست؛ متن را کامل‌تر بنویسید."
TICKET_SUBJECT = "پرسش درباره پیگیری نامه"
TICKET_ANSWER = "پاسخ در کارتابل من، در صفحه درخواست زیر «پاسخ‌ها» است."
LETTER_TEXT = "با سلام، خواهشمند است به درخواست پیوست رسیدگی فرمایید. نشانی: خیابان ۱۵ خرداد، پلاک ۷"
CORRECTED = "با سلام، متن کامل درخواست با امضای خوانا پیوست است."
REPLY = "با درخواست شما موافقت شد؛ اصل نامه در دبیرخانه بایگانی شد."


@dataclass(frozen=True)
class Citizen:
    national_code: str
    birth_date: str
    mobile: str
    first_name: str
    last_name: str
    email: str = ""

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"


# People the simulators know (deploy/simulators): the registry's records and Shahkar's owners.
BEHZISTI = Citizen("0067890121", "1365/09/21", "09191234567", "رضا", "نوری")
COMPANY = Citizen("0011223340", "1370/05/20", "09123334455", "نرگس", "طاهری")
MOBILE = Citizen("0022334459", "1366/12/01", "09124445566", "امیر", "صادقی")
WIZARD = Citizen("0012345679", "1368/04/15", "09121234567", "مریم", "کاظمی")
ACTIVATION = Citizen("0499370899", "1365/11/20", "09127654321", "رضا", "کریمی", "reza.karimi@example.ir")
COMPANY_NAME, COMPANY_ID = "شرکت فرش دستباف طاهری", "10320456783"


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """One desk for the walks of guides 000–003 (codes by SMS, the administrator identity needs)."""
    folder = tmp_path_factory.mktemp("guides")
    with running_desk(folder, "postgresql", **identity_env(folder)) as running:
        yield running


@pytest.fixture
def activation_desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """Seed 004's desk: accounts open only through the e-mailed link. Its walk runs first and
    the desk stops with it, so two desks never run at once on a small machine."""
    folder = tmp_path_factory.mktemp("guide-004")
    with running_desk(folder, "postgresql", EMAIL_ACTIVATION="required", **identity_env(folder)) as running:
        yield running


@pytest.fixture
def say(capsys: pytest.CaptureFixture[str]) -> Callable[[str], None]:
    """Print to the terminal even when pytest captures output: a step left out is said aloud."""

    def printed(text: str) -> None:
        with capsys.disabled():
            print(f"\n{text}")

    return printed


def walk_of(browser: webdriver.Chrome, desk: Desk, name: str, folder: Path, *allowed: str) -> Walk:
    return Walk(browser, desk, name, folder, allowed=list(allowed))


# Registration and signing in, each guide's way ---------------------------------------------------


def register_through_the_registry(walk: Walk, person: Citizen) -> None:
    """Seed 000: «ثبت‌نام» → national code and birth date → «استعلام» fills the certificate's
    fields → mobile and password → «ثبت نام» → the code sent to the mobile."""
    walk.follow("ثبت‌نام", "register")
    walk.follow("ثبت نام با استعلام ثبت احوال", "register-registry")
    walk.type(
        {
            "national_code": persian_digits(person.national_code),
            "birth_date": persian_digits(person.birth_date),
        }
    )
    walk.captcha()
    text = walk.press("#registry-form button[value=inquire]", "registry-record")
    assert person.last_name in text and "نام پدر" in text, text
    inquired = str(walk.browser.find_element(By.ID, "inquired_at").get_attribute("value"))
    assert re.search("[۰-۹]{4}/[۰-۹]{2}/[۰-۹]{2}", inquired) and not foreign_words(inquired), inquired
    walk.type({"mobile": persian_digits(person.mobile), "password": PASSWORD, "password2": PASSWORD})
    if person.email:
        walk.type({"email": person.email})
    walk.captcha()
    walk.press("#register", "code")
    confirm_the_code(walk, person, "account")


def register_by_mobile(walk: Walk, person: Citizen, *, legal: bool = False) -> str:
    """Seeds 001, 002 and 004: «ثبت‌نام» → «ثبت نام با تلفن همراه» (a legal person with the
    company's title and national id) → the code sent to the mobile. The page that follows."""
    walk.follow("ثبت‌نام", "register")
    walk.follow("ثبت نام با تلفن همراه", "register-mobile")
    walk.type(
        {
            "national_code": persian_digits(person.national_code),
            "mobile": persian_digits(person.mobile),
            "birth_date": persian_digits(person.birth_date),
            "first_name": person.first_name,
            "last_name": person.last_name,
            "password": PASSWORD,
            "password2": PASSWORD,
        }
    )
    if person.email:
        walk.type({"email": person.email})
    if legal:
        walk.tick("input[name=kind][value=legal]")
        walk.type({"company_name": COMPANY_NAME, "national_id": persian_digits(COMPANY_ID)})
    walk.captcha()
    walk.press("#mobile-register-form button[type=submit]", "code")
    return confirm_the_code(walk, person, "after-code")


def confirm_the_code(walk: Walk, person: Citizen, what: str) -> str:
    walk.type({"code": persian_digits(walk.code_sent_to(person.mobile))})
    return walk.press("#code-form button[type=submit]", what)


def sign_in_with_password(walk: Walk, person: Citizen) -> str:
    """«ورود» → national code (the user name) and password; the میز کار."""
    walk.follow("ورود", "login")
    walk.type({"national_code": persian_digits(person.national_code), "password": PASSWORD})
    walk.captcha()
    text = walk.press("#login-form button[type=submit]", "desk")
    assert "/account" in walk.browser.current_url, text
    return text


def sign_in_with_a_code(walk: Walk, person: Citizen, way: str) -> str:
    """«ورود» → `way` (seed 001's one-time code by national code, or seed 002's mobile) → the
    code sent by SMS → the میز کار."""
    walk.follow("ورود", "login")
    if way == "mobile":
        walk.follow("ورود با شماره تلفن همراه", "login-mobile")
        walk.type({"mobile": persian_digits(person.mobile)})
    else:
        walk.follow("ورود با رمز یکبار مصرف", "login-code")
        walk.type({"national_code": persian_digits(person.national_code)})
    walk.captcha()
    walk.press("main form button[type=submit]", "login-code-sent")
    text = confirm_the_code(walk, person, "desk")
    assert "/account" in walk.browser.current_url, text
    return text


def level_of(walk: Walk) -> str:
    return str(walk.browser.find_element(By.ID, "assurance-level").get_attribute("data-level"))


# Filing ----------------------------------------------------------------------------------------


def open_service(walk: Walk, service_id: str) -> str:
    """From the header's «فهرست خدمات», the service's card, its consent ticked, «شروع»."""
    walk.follow("فهرست خدمات", "catalogue")
    link = walk.browser.find_element(By.CSS_SELECTOR, f"a[data-service='{service_id}']")
    walk.click(link)
    walk.look("service-card")
    walk.tick("#consent")
    return walk.press("#start", "form")


def file_a_letter(
    walk: Walk,
    person: Citizen,
    service_id: str,
    subject: str,
    paper: Path,
    *,
    legal: bool = False,
    unit: str = "",
) -> str:
    """The letter form (seed 000's «ثبت درخواست حقیقی/حقوقی», seed 002's letter to a unit), with
    the letter's scan; the receipt's tracking code. A company's form opens as the legal person's,
    filled from the account; «وضعیت درخواست» is the secretariat's, shown but not the citizen's."""
    form = open_service(walk, service_id)
    values = {name: walk.value_of(name) for name in ("full_name", "owner_name", "company_name")}
    if legal:
        assert walk.browser.find_element(By.ID, "kind-legal").is_selected()
        assert values["owner_name"] == person.full_name, values  # not the company's title
        assert values["company_name"] == COMPANY_NAME, values
        assert latin_digits(walk.value_of("company_national_id")) == COMPANY_ID
    else:
        assert values["full_name"] == person.full_name, values
        walk.type(
            {"national_code": persian_digits(person.national_code), "mobile": persian_digits(person.mobile)}
        )
    status = walk.browser.find_elements(By.CSS_SELECTOR, "#request-status input")
    assert status and not any(choice.is_enabled() for choice in status)  # «وضعیت درخواست», read-only
    walk.choose("province", "تهران")
    if unit:  # seed 002's «واحد سازمانی مخاطب», and its 200-character rule stated
        walk.choose("addressee_unit", unit)
        assert "۲۰۰ کاراکتر" in form, form
    walk.type({"subject": subject, "text": LETTER_TEXT})
    walk.attach("#f-file", paper)
    return receipt(walk, "#submit")


def file_the_wizard(walk: Walk, person: Citizen, paper: Path) -> str:
    """Seed 003's six steps for the dehyari service, with the council's minutes attached."""
    open_service(walk, DEHYARI)
    walk.press("#next", "wizard-2")
    walk.type({"text": "درخواست صدور مجوز تاسیس دهیاری برای روستای ده‌نو"})
    walk.press("#next", "wizard-3")
    walk.attach("#f-file", paper)
    text = walk.press("#upload", "wizard-3-uploaded")
    assert paper.name in text, text
    walk.press("#next", "wizard-4")
    walk.type({"first_name": person.first_name, "last_name": person.last_name})
    walk.press("#next", "wizard-5")
    walk.choose_value("visit_officer", "ابوالفضل یاری")
    walk.press("#month-previous", "wizard-5-calendar")  # the visit date, picked on the Jalali calendar
    walk.press("#visit-calendar tbody button:not([disabled])", "wizard-5-picked")
    picked = latin_digits(walk.value_of("visit_date"))
    assert re.fullmatch(r"1[34]\d\d/\d\d/\d\d", picked), picked
    walk.press("#next", "wizard-6")
    return receipt(walk, "#submit")


def receipt(walk: Walk, button: str) -> str:
    """Send the form; the receipt (رسید خدمت) shows the tracking code in Persian digits."""
    text = walk.press(button, "receipt")
    code = str(walk.browser.find_element(By.ID, "tracking-code").get_attribute("data-code") or "")
    assert re.fullmatch(r"\d{12}", code), text
    assert persian_digits(code) in text and "رسید" in text, text
    return code


# After filing: correction, reply, survey, support --------------------------------------------


def correction_reply_and_survey(
    walk: Walk, desk: Desk, person: Citizen, code: str, second_file: Path | None = None
) -> None:
    """The clerk registers the request and returns it; the citizen reads why on the request's
    page and sends it again; the clerk gives the final reply, which the citizen reads online and
    prints; the citizen answers the survey with the tracking code."""
    request_id = walk.current_request_id()
    clerk = Staff(desk, CLERK)
    try:
        clerk.act(request_id, "register")
        clerk.act(request_id, "return", reason=RETURN_REASON)
        walk.open_own_request(request_id, "returned")
        text = walk.until_shown(RETURN_REASON, "returned")
        number = walk.browser.find_element(By.ID, "registration-number").text
        assert re.search("[۰-۹]", number) and not foreign_words(number), number
        registered = eventually(lambda: [t for t in walk.sms_to(person.mobile) if "دبیرخانه با شماره" in t])
        assert number in BIDI_MARKS.sub("", registered[-1]), (number, registered[-1])  # as on the page
        if LETTER_TEXT in walk.value_of("text"):
            assert "پلاک ۷" in text, text  # Persian digits typed come back as typed
        walk.type({"text": CORRECTED})
        if second_file is not None:  # one file allowed and kept: the second is refused, the text kept
            walk.attach("#correction input[type=file]", second_file)
            text = walk.press("#resubmit", "correction-refused")
            assert walk.browser.find_elements(By.ID, "error"), text
            assert walk.value_of("text") == CORRECTED, walk.value_of("text")
        text = walk.press("#resubmit", "resubmitted")
        assert "دوباره" in text, text

        clerk.act(request_id, "reply", kind="final", body=REPLY)
    finally:
        clerk.close()
    replied = eventually(lambda: [t for t in walk.sms_to(person.mobile) if "نظرسنجی" in t])
    assert persian_digits(code) in BIDI_MARKS.sub("", replied[-1]), replied[-1]
    walk.open_own_request(request_id, "replied")
    walk.until_shown(REPLY, "replied")
    text = walk.follow("نسخه قابل چاپ", "reply")
    assert REPLY in text and person.last_name in text, text

    answer_the_survey(walk, person, code)


def answer_the_survey(walk: Walk, person: Citizen, code: str) -> None:
    """Seed 003: «نظرسنجی» → tracking code and national code → «ثبت مشخصات شهروند» →
    the questionnaire → «ثبت فرم پرسش نامه»."""
    walk.follow("نظرسنجی", "survey")

    def opened() -> bool:
        walk.type(
            {"tracking_code": persian_digits(code), "national_code": persian_digits(person.national_code)}
        )
        walk.press("#search", "survey-search")
        return "/survey/details" in walk.browser.current_url

    eventually(opened)  # the survey opens a moment after the final reply
    walk.press("#save-details", "survey-questions")
    for question in QUESTIONS:
        walk.browser.find_element(By.ID, f"{question.id}-4").click()
    text = walk.press("#save-questions", "survey-done")
    assert "سپاسگزاریم" in text, text


def ask_support(walk: Walk, person: Citizen, say: Callable[[str], None]) -> None:
    """Seed 001's support: «ثبت تیکت» in the میز کار (subject, text, a file), support answers
    from the back office, the citizen is told by SMS and reads the answer under «تیکت‌های من».
    While the desk has no tickets, the step is left out and `say` prints why."""
    walk.follow("میز کار", "desk-for-ticket")
    if walk.link("ثبت تیکت") is None:
        say(
            f"{walk.name}: support tickets («ثبت تیکت» in the میز کار) are not on the desk yet: step left out"
        )
        return
    walk.follow("ثبت تیکت", "ticket-new")
    walk.type({"subject": TICKET_SUBJECT, "text": "پاسخ نامه‌ام را کجا ببینم؟"})
    walk.attach("#ticket-form input[type=file]", scan(walk.folder, "تصویر صفحه.pdf"))
    text = walk.press("#send-ticket", "ticket-sent")
    assert TICKET_SUBJECT in text, text
    ticket_id = walk.browser.current_url.split("?")[0].rsplit("/", 1)[-1]
    number = walk.browser.find_element(By.ID, "ticket-number").text
    assert re.fullmatch("[۰-۹]+", number), number

    support = Staff(walk.desk, DESK_OFFICER)
    try:
        support.answer_ticket(ticket_id, TICKET_ANSWER)
    finally:
        support.close()
    eventually(lambda: [text for text in walk.sms_to(person.mobile) if number in text])

    walk.follow("میز کار", "desk-after-ticket")
    walk.follow("تیکت‌های من", "my-tickets")
    walk.follow(TICKET_SUBJECT, "ticket")
    walk.until_shown(TICKET_ANSWER, "ticket-answered")


def tell_fields(walk: Walk, say: Callable[[str], None]) -> None:
    """Print the fields the desk filled in with Latin digits (not failed: see FILLED_IN_LATIN)."""
    if walk.notes:
        say(f"{walk.name}: fields filled in with Latin digits:\n  " + "\n  ".join(walk.notes))


def scan(folder: Path, name: str) -> Path:
    path = folder / name
    path.write_bytes(PDF)
    return path


# The walks ---------------------------------------------------------------------------------------


def test_guide_004_email_activation_and_the_desk_officers_approval(
    activation_desk: Desk, browser: webdriver.Chrome, tmp_path: Path, say: Callable[[str], None]
) -> None:
    desk, person = activation_desk, ACTIVATION
    masked = person.email[0] + "***@" + person.email.split("@")[1]
    walk = walk_of(browser, desk, "guide-004", tmp_path, person.email, masked)
    walk.open_home()
    text = register_by_mobile(walk, person)
    assert masked in text, text

    # The e-mail's link, opened from the mail reader (the one address not reached by a click).
    def link() -> str | None:
        mails = httpx.get(desk.env["SMTP_SIMULATOR_URL"] + "/messages", timeout=10).json()["messages"]
        found = [
            m
            for mail in mails
            if mail["to"] == [person.email]
            for m in re.findall(r"https?://\S+/activate\?\S+", mail["text"])
        ]
        return found[-1] if found else None

    browser.get(eventually(link))
    text = walk.look("activated")
    assert "فعال شد" in text, text
    walk.follow("ورود به سامانه", "login")
    walk.type({"national_code": persian_digits(person.national_code), "password": PASSWORD})
    walk.captcha()
    walk.press("#login-form button[type=submit]", "desk")
    assert level_of(walk) == "1"

    # Identity verification: the form with the scans, sent to the desk officer, who approves it.
    walk.follow("تایید هویت", "verification")
    walk.choose("province", "تهران")
    walk.attach("#national_card", scan(tmp_path, "کارت ملی.pdf"))
    text = walk.press("#save-draft", "verification-draft")  # «ثبت موقت»: the rest another time
    assert "ثبت موقت" in walk.browser.find_element(By.ID, "draft-saved").text, text
    assert "کارت ملی.pdf" in walk.browser.find_element(By.ID, "kept-scans").text
    walk.attach("#birth_certificate", scan(tmp_path, "شناسنامه.pdf"))
    walk.press("#submit-verification", "verification-sent")
    walk.follow("کارتابل من", "cartable-verification")
    text = walk.until_shown("درخواست تایید هویت", "cartable-verification")
    for column in ("زمان انتظار", "گردش کار", "گزارش"):  # seed 004's cartable columns
        assert column in text, column
    officer = Staff(desk, DESK_OFFICER)
    try:
        officer.approve_identity(person.national_code)
    finally:
        officer.close()
    walk.follow("گزارش", "verification-report")  # the cartable row's report: the verification page
    walk.until_shown("هویت شما تایید شد", "verification-approved")
    walk.follow("میز کار", "desk-verified")
    assert level_of(walk) == "3"

    code = file_a_letter(walk, person, LETTER, "درخواست واگذاری زمین صنعتی", scan(tmp_path, "نامه.pdf"))
    correction_reply_and_survey(walk, desk, person, code)
    ask_support(walk, person, say)
    tell_fields(walk, say)
    walk.finish(person.mobile)


def test_guide_000_registry_inquiry_and_the_natural_persons_letter(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path, say: Callable[[str], None]
) -> None:
    walk = walk_of(browser, desk, "guide-000", tmp_path)
    walk.open_home()
    register_through_the_registry(walk, BEHZISTI)
    assert level_of(walk) == "3"
    told = eventually(lambda: walk.sms_to(BEHZISTI.mobile)[1:])  # after the code: the welcome
    assert not [t for t in told if "باید تایید شود" in t], told  # verified by the registry already
    walk.sign_out()
    sign_in_with_password(walk, BEHZISTI)
    code = file_a_letter(walk, BEHZISTI, LETTER, "درخواست مستمری", scan(tmp_path, "متن درخواست.pdf"))
    correction_reply_and_survey(walk, desk, BEHZISTI, code, second_file=scan(tmp_path, "نامه دوم.pdf"))
    ask_support(walk, BEHZISTI, say)
    tell_fields(walk, say)
    walk.finish(BEHZISTI.mobile)


def test_guide_001_legal_person_validated_by_the_registry(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path, say: Callable[[str], None]
) -> None:
    walk = walk_of(browser, desk, "guide-001", tmp_path)
    walk.open_home()
    register_by_mobile(walk, COMPANY, legal=True)
    assert walk.value_of("birth_date") == persian_digits(COMPANY.birth_date)  # the registry check's date
    walk.press("#registry-check", "desk-registry-checked")
    assert level_of(walk) == "3"
    walk.sign_out()
    sign_in_with_a_code(walk, COMPANY, "national_code")
    code = file_a_letter(
        walk, COMPANY, LETTER, "درخواست همکاری شرکت", scan(tmp_path, "نامه شرکت.pdf"), legal=True
    )
    correction_reply_and_survey(walk, desk, COMPANY, code)
    ask_support(walk, COMPANY, say)
    tell_fields(walk, say)
    walk.finish(COMPANY.mobile)


def test_guide_002_mobile_and_shahkar_letter_to_a_unit(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path, say: Callable[[str], None]
) -> None:
    walk = walk_of(browser, desk, "guide-002", tmp_path)
    walk.open_home()
    register_by_mobile(walk, MOBILE)
    assert level_of(walk) == "2"  # the mobile is his by Shahkar
    walk.sign_out()
    sign_in_with_a_code(walk, MOBILE, "mobile")
    code = file_a_letter(
        walk,
        MOBILE,
        TO_A_UNIT,
        "درخواست اصلاحیه صورتجلسه مالیاتی",
        scan(tmp_path, "نامه.pdf"),
        unit="دفتر ارزیابی عملکرد، بازرسی و پاسخگویی به شکایات",
    )
    correction_reply_and_survey(walk, desk, MOBILE, code)
    ask_support(walk, MOBILE, say)
    tell_fields(walk, say)
    walk.finish(MOBILE.mobile)


def test_guide_003_the_dehyari_wizard_its_reply_and_the_survey(
    desk: Desk, browser: webdriver.Chrome, tmp_path: Path, say: Callable[[str], None]
) -> None:
    walk = walk_of(browser, desk, "guide-003", tmp_path)
    walk.open_home()
    text = walk.follow("داشبورد شهروندان", "dashboard")
    for part in ("بسته اطلاع رسانی", "فرمهای مورد نیاز جهت دریافت خدمات", "پرسش و پاسخ"):
        assert part in text, part
    register_by_mobile(walk, WIZARD)
    walk.sign_out()
    sign_in_with_password(walk, WIZARD)
    code = file_the_wizard(walk, WIZARD, scan(tmp_path, "صورتجلسه شورا.pdf"))
    correction_reply_and_survey(walk, desk, WIZARD, code)
    ask_support(walk, WIZARD, say)
    tell_fields(walk, say)
    walk.finish(WIZARD.mobile)


def test_the_reading_finds_latin_words_and_digits_and_lets_typed_latin_through() -> None:
    """The check every page goes through: Latin words and Latin digits are found; what the citizen
    typed in Latin (an e-mail address), file types and «PDF» are not held against the page."""
    page = (
        "کد رهگیری 123456 — شماره ثبت ۱۴۰۵/tehran/۵ — Choose File — reza@example.ir — فرمت: pdf, .docx — PDF"
    )
    assert foreign_words(page, ["reza@example.ir"]) == ["123456", "tehran/", "Choose", "File"]
    assert foreign_words("کد رهگیری ۱۲۳۴۵۶ ثبت شد؛ تاریخ ۱۴۰۵/۰۹/۱۶") == []
