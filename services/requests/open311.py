"""What a partner system files through Open311 GeoReport v2: each service's attributes (the
fields of its form a partner may send besides the person's name and contacts and the text)
and their rules. Pure: the gateway shows the attributes, `request.py` checks them on filing.

The person's national code is not part of Open311 and never asked; the wizard's visit and the
letter's subject and province are the attributes (a letter's province is required: it names
the secretariat whose inbox receives the request).
"""

from __future__ import annotations

import re
from typing import Any

import jdatetime

from contracts.catalogue import PROVINCES, ServicePublished
from contracts.errors import DomainError
from contracts.persian import normalize_mobile
from contracts.requests import PREVIOUS_RESULTS, SubmitForPartner, Visit
from services.requests.forms import is_jalali_date

EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
LANDLINE = re.compile(r"0\d{9,10}")


def _attribute(
    code: str,
    description: str,
    order: int,
    *,
    datatype: str = "string",
    required: bool = False,
    values: list[tuple[str, str]] | None = None,
    datatype_description: str = "",
) -> dict[str, Any]:
    return {
        "variable": True,
        "code": code,
        "datatype": datatype,
        "required": required,
        "datatype_description": datatype_description,
        "order": order,
        "description": description,
        "values": [{"key": key, "name": name} for key, name in values or []],
    }


def attributes(card: ServicePublished) -> list[dict[str, Any]]:
    """The service's attributes as GeoReport v2's service definition lists them."""
    if card.form == "letter":
        return [
            _attribute("subject", "موضوع درخواست", 1, required=True, datatype_description="حداکثر ۲۰۰ نویسه"),
            _attribute(
                "province", "استان مورد درخواست", 2, datatype="singlevaluelist", required=True,
                values=list(PROVINCES.items()),
            ),
        ]  # fmt: skip
    officers = [(o.name, f"{o.name} ({o.title})" if o.title else o.name) for o in card.officers]
    return [
        _attribute(
            "visit_officer", "نام متصدی", 1,
            datatype="singlevaluelist" if officers else "string", values=officers,
        ),
        _attribute(
            "visit_date", "تاریخ مراجعه", 2,
            datatype_description="تاریخ شمسی به شکل ۱۴۰۳/۰۲/۱۵، نه در آینده",
        ),
        _attribute(
            "previous_result", "نتیجه مراجعه قبلی در صورت وجود", 3, datatype="singlevaluelist",
            values=[(r, r) for r in PREVIOUS_RESULTS],
        ),
        _attribute("visit_description", "توضیحات مراجعه", 4, datatype="text"),
    ]  # fmt: skip


def _invalid(field: str) -> DomainError:
    return DomainError("partner_request_invalid", field)


def check(payload: SubmitForPartner, card: ServicePublished, today: jdatetime.date) -> None:
    """Every rule of what the partner sent: a name, contacts that are what they say, the
    service's attributes known, the required ones given and list values from their list
    (`partner_request_invalid`, its detail naming the field)."""
    if not (payload.first_name or payload.last_name):
        raise _invalid("first_name")
    if len(f"{payload.first_name} {payload.last_name}") > 200:
        raise _invalid("last_name")
    phone = re.sub(r"[\s\-]", "", payload.phone)
    if phone and normalize_mobile(phone) is None and not LANDLINE.fullmatch(phone):
        raise _invalid("phone")
    if payload.email and not EMAIL.fullmatch(payload.email):
        raise _invalid("email")
    defined = {a["code"]: a for a in attributes(card)}
    for code, value in payload.attributes.items():
        attribute = defined.get(code)
        if attribute is None:
            raise _invalid(f"attribute[{code}]")
        if attribute["values"] and value and value not in {v["key"] for v in attribute["values"]}:
            raise _invalid(f"attribute[{code}]")
        if len(value) > (1000 if attribute["datatype"] == "text" else 200):
            raise _invalid(f"attribute[{code}]")
    for code, attribute in defined.items():
        if attribute["required"] and not payload.attributes.get(code, "").strip():
            raise _invalid(f"attribute[{code}]")
    visit_date = payload.attributes.get("visit_date", "")
    if visit_date and not is_jalali_date(visit_date, past=True, today=today):
        raise _invalid("attribute[visit_date]")


def contacts(payload: SubmitForPartner) -> dict[str, str | None]:
    """The applicant's mobile (empty when the phone is not one), landline and e-mail."""
    phone = re.sub(r"[\s\-]", "", payload.phone)
    mobile = normalize_mobile(phone) if phone else None
    return {
        "mobile": mobile or "",
        "landline": phone if phone and mobile is None else None,
        "email": payload.email or None,
    }


def visit(payload: SubmitForPartner, card: ServicePublished) -> Visit | None:
    """The wizard's visit to the organisation, from the attributes (None for a letter)."""
    if card.form != "wizard":
        return None
    given = payload.attributes
    titles = {o.name: o.title for o in card.officers}
    return Visit(
        unit=card.unit_name,
        officer=given.get("visit_officer") or None,
        officer_title=titles.get(given.get("visit_officer", "")) or None,
        visit_date=given.get("visit_date") or None,
        previous_result=given.get("previous_result") or None,
        description=given.get("visit_description") or None,
    )
