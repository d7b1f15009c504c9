"""One request's history and the staff around it, as the secretariat's rule tests give them."""

from __future__ import annotations

from contracts.requests import Applicant, RequestSubmitted
from contracts.secretariat import CaseReferred, NumberAssigned
from contracts.secretariat_rpc import Staff

RID = "req-1"
CLERK = Staff(account_id="clerk-1", name="سارا دبیری", roles=("clerk",), province="tehran")
CLERK_2 = Staff(account_id="clerk-2", name="علی منشی", roles=("clerk",), province="tehran")
OTHER_CLERK = Staff(account_id="clerk-9", roles=("clerk",), province="isfahan")
REP = Staff(account_id="rep-1", name="رضا پیگیر", roles=("representative",), unit="permits")
ADMIN = Staff(account_id="admin", roles=("admin",))

SUBMITTED = RequestSubmitted(
    request_id=RID,
    tracking_code="123456789012",
    applicant=Applicant(national_code="0084575948", full_name="مریم کاظمی", mobile="09123456789"),
    province="tehran",
    subject="درخواست مجوز",
    text="متن",
    submitted_at="2026-03-01T08:00:00+00:00",
)
NUMBERED = NumberAssigned(
    request_id=RID,
    secretariat="tehran",
    year=1405,
    sequence=7,
    registration_number="1405/tehran/7",
    clerk=CLERK.account_id,
)
REFERRED = CaseReferred(
    request_id=RID, unit="permits", unit_name="صدور مجوز", instruction="بررسی شود", actor=CLERK.account_id
)
"""Referred to the unit, no one in it named."""
