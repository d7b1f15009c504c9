"""Identity's rules one by one: identifiers, birth dates, passwords, adapters, safe links."""

from __future__ import annotations

import socket
from collections.abc import Iterator

import pytest
from pydantic import ValidationError

import contracts  # noqa: F401 - registers the event types
from contracts.errors import DomainError
from contracts.identity_rpc import PasswordLogin, RegistryInquiry, StartRegistration
from contracts.persian import is_national_code, is_national_id
from services.identity.adapters import HttpCivilRegistry, HttpShahkar
from services.identity.passwords import check_new_password, hash_password, verify_password
from services.identity.service import parse


@pytest.mark.parametrize("code", ["10380284790", "10100302746"])
def test_a_national_id_with_its_check_digit_is_accepted(code: str) -> None:
    assert is_national_id(code)


@pytest.mark.parametrize("code", ["10380284791", "1038028479", "11111111111", "1038028479a"])
def test_a_national_id_with_a_wrong_digit_or_length_is_refused(code: str) -> None:
    assert not is_national_id(code)


def test_national_codes_in_persian_and_arabic_digits_are_read_as_latin() -> None:
    inquiry = RegistryInquiry(national_code="۰۰۱۲۳۴۵۶۷۹", birth_date="١٣٦٨/٠٤/١٥")
    assert (inquiry.national_code, inquiry.birth_date) == ("0012345679", "1368/04/15")
    assert is_national_code("0012345679") and not is_national_code("0012345678")


@pytest.mark.parametrize(
    "mobile", ["09121234567", "9121234567", "+989121234567", "00989121234567", "۰۹۱۲-۱۲۳-۴۵۶۷"]
)
def test_every_form_of_a_mobile_is_stored_as_09(mobile: str) -> None:
    command = StartRegistration(
        method="registry", national_code="0012345679", birth_date="1368/4/15", mobile=mobile, password="x"
    )
    assert command.mobile == "09121234567"


@pytest.mark.parametrize(
    ("birth_date", "code"),
    [
        ("1368/13/01", "invalid_birth_date"),
        ("1500/01/01", "invalid_birth_date"),
        ("68/4/15", "invalid_birth_date"),
    ],
)
def test_an_impossible_birth_date_is_refused_with_its_own_code(birth_date: str, code: str) -> None:
    with pytest.raises(DomainError) as refused:
        parse(RegistryInquiry, {"national_code": "0012345679", "birth_date": birth_date})
    assert refused.value.code == code


def test_a_bad_check_digit_is_refused_before_any_inquiry() -> None:
    with pytest.raises(DomainError) as refused:
        parse(RegistryInquiry, {"national_code": "0012345678", "birth_date": "1368/04/15"})
    assert refused.value.code == "invalid_national_code"


def test_a_company_needs_a_valid_national_id() -> None:
    data = {
        "method": "mobile",
        "national_code": "0012345679",
        "birth_date": "1368/04/15",
        "mobile": "09121234567",
        "first_name": "a",
        "last_name": "b",
        "password": "x",
        "kind": "legal",
        "company": {"company_name": "شرکت نمونه", "national_id": "10380284791"},
    }
    with pytest.raises(DomainError) as refused:
        parse(StartRegistration, data)
    assert refused.value.code == "invalid_national_id"
    data["company"] = {
        "company_name": "شرکت نمونه",
        "national_id": "۱۰۳۸۰۲۸۴۷۹۰",
        "economic_code": "411111111111",
    }
    assert parse(StartRegistration, data).company is not None


@pytest.mark.parametrize(
    "password", ["short1!", "12345678", "password123", "11112222", "aaaaaaaaaaaa", "x0012345679y"]
)
def test_weak_common_or_personal_passwords_are_refused(password: str) -> None:
    with pytest.raises(DomainError) as refused:
        check_new_password(password, "0012345679", "9121234567")
    assert refused.value.code == "weak_password"


def test_a_good_password_is_kept_only_as_an_argon2_hash() -> None:
    check_new_password("Golbarg-1403!", "0012345679")
    hashed = hash_password("Golbarg-1403!")
    assert hashed.startswith("$argon2id$") and "Golbarg" not in hashed
    assert verify_password(hashed, "Golbarg-1403!") and not verify_password(hashed, "golbarg-1403!")
    assert not verify_password(None, "anything")


def test_payloads_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError):
        PasswordLogin.model_validate({"national_code": "0012345679", "password": "x", "admin": True})


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers: the adapter must give up by itself."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    server.close()


def test_a_registry_that_does_not_answer_is_a_clear_retryable_error(silent_server: str) -> None:
    with pytest.raises(DomainError) as refused:
        HttpCivilRegistry(silent_server, timeout=0.3).inquire("0012345679", "1368/04/15")
    assert refused.value.code == "registry_unavailable" and refused.value.status == 503
    assert "دوباره «استعلام»" in refused.value.message


def test_an_unreachable_shahkar_is_a_clear_error() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DomainError) as refused:
        HttpShahkar(f"http://127.0.0.1:{port}", timeout=0.5).matches("0012345679", "09121234567")
    assert refused.value.code == "shahkar_unavailable"


def test_next_links_stay_on_this_site() -> None:
    from gateway.web.signin import safe_next

    assert safe_next("/account?x=1") == "/account?x=1"
    assert safe_next("//evil.example/") == "/"
    assert safe_next("https://evil.example/") == "/"
    assert safe_next("/\\evil.example") == "/"
