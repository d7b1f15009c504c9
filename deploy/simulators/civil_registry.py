"""A stand-in for the civil registry's inquiry (استعلام ثبت احوال), with fictional people.

    POST /inquiry {"national_code", "birth_date"} → 200 the record, 404 unknown pair

Every national code below has a valid check digit. 0034567895 is deceased; 0078901235 makes the
registry hang for `SLOW_SECONDS` (longer than the adapter's time-out); 0089012348 answers 500.
"""

from __future__ import annotations

import asyncio
import os

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

SLOW = "0078901235"
BROKEN = "0089012348"
SLOW_SECONDS = float(os.environ.get("CIVIL_REGISTRY_SLOW_SECONDS", "10"))


def _person(
    first: str, last: str, father: str, number: str, serial: str, gender: str, birth: str, alive: bool = True
) -> dict[str, object]:
    return {
        "first_name": first,
        "last_name": last,
        "father_name": father,
        "certificate_number": number,
        "certificate_serial": serial,
        "gender": gender,
        "alive": alive,
        "birth_date": birth,
    }


PEOPLE: dict[str, dict[str, object]] = {
    "0012345679": _person("مریم", "کاظمی", "حسن", "1254", "ج/۱۲ ۴۵۶۷۸۹", "female", "1368/04/15"),
    "0023456787": _person("علی", "رضایی", "محمد", "3321", "الف/۳۲ ۱۲۳۴۵۶", "male", "1360/11/02"),
    "0034567895": _person("حسین", "احمدی", "عباس", "87", "ب/۱۰ ۹۸۷۶۵۴", "male", "1320/01/20", alive=False),
    "0045678901": _person("زهرا", "محمدی", "رضا", "5410", "د/۴۴ ۳۳۲۲۱۱", "female", "1375/07/30"),
    "0056789017": _person("سارا", "حسینی", "مهدی", "990", "ه/۵۰ ۵۵۴۴۳۳", "female", "1372/02/09"),
    "0067890121": _person("رضا", "نوری", "جواد", "7781", "و/۶۱ ۷۷۶۶۵۵", "male", "1365/09/21"),
    "0011223340": _person("نرگس", "طاهری", "کریم", "4120", "ز/۱۱ ۲۲۳۳۴۴", "female", "1370/05/20"),
    "0022334459": _person("امیر", "صادقی", "ناصر", "6602", "ح/۲۲ ۳۳۴۴۵۵", "male", "1366/12/01"),
}


async def inquiry(request: Request) -> JSONResponse:
    body = await request.json()
    code, birth = str(body.get("national_code", "")), str(body.get("birth_date", ""))
    if code == SLOW:
        await asyncio.sleep(SLOW_SECONDS)
    if code == BROKEN:
        return JSONResponse({"error": "internal"}, status_code=500)
    person = PEOPLE.get(code)
    if person is None or person["birth_date"] != birth:
        return JSONResponse({"error": "not_found"}, status_code=404)
    return JSONResponse(person)


app = Starlette(routes=[Route("/inquiry", inquiry, methods=["POST"])])
